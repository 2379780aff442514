import Face
import Motion
import MouthpieceCore

/// Renders frames: the still base picture with the face region re-warped for each `FaceMotion`
/// and the mouth interior painted where the lips part. Pixels outside the animated region are
/// never written, so the background stays exactly the base picture.
public struct FrameRenderer: Sendable {
    public let base: RGBImage
    public let rig: FaceRig
    let interior: MouthInterior
    let restOpening: (upper: [Point], lower: [Point])
    /// Bounding box of the animated region, in whole pixels: `x0..<x1`, `y0..<y1`.
    public let animatedRegion: (x0: Int, y0: Int, x1: Int, y1: Int)

    public init(base: RGBImage, rig: FaceRig) {
        self.base = base
        self.rig = rig
        interior = MouthInterior(base: base, landmarks: rig.landmarks)
        restOpening = rig.mouthOpening(rig.rest)
        // The moving triangles' outer edges join fixed vertices, so their union never changes.
        var points: [Point] = []
        for i in rig.movingTriangles {
            let t = rig.triangles[i]
            points += [rig.rest[t.0], rig.rest[t.1], rig.rest[t.2]]
        }
        let box = Rect.bounding(points.isEmpty ? [Point.zero] : points)
        animatedRegion = (
            max(0, Int(box.minX.rounded(.down)) - 1), max(0, Int(box.minY.rounded(.down)) - 1),
            min(base.width, Int(box.maxX.rounded(.up)) + 1), min(base.height, Int(box.maxY.rounded(.up)) + 1)
        )
    }

    /// A frame to render into: starts as the base picture.
    public func makeFrame() -> RGBImage { base }

    /// Renders `motion` into `frame`, which must have come from `makeFrame()`.
    public func render(_ motion: FaceMotion, into frame: inout RGBImage) {
        let target = rig.deform(motion)
        let width = base.width
        let height = base.height
        let region = animatedRegion
        base.pixels.withUnsafeBufferPointer { sourceBuffer in
            frame.pixels.withUnsafeMutableBufferPointer { frameBuffer in
                let source = sourceBuffer.baseAddress!
                let out = frameBuffer.baseAddress!
                // Start from the still picture inside the animated region.
                let rowBytes = (region.x1 - region.x0) * 3
                if rowBytes > 0 {
                    for y in region.y0..<region.y1 {
                        let o = (y * width + region.x0) * 3
                        (out + o).update(from: source + o, count: rowBytes)
                    }
                }
                for i in rig.movingTriangles {
                    let t = rig.triangles[i]
                    // Unmoved triangles already hold the still picture.
                    if target[t.0] == rig.rest[t.0] && target[t.1] == rig.rest[t.1] && target[t.2] == rig.rest[t.2] {
                        continue
                    }
                    TriangleWarp.warp(
                        from: source, into: out, width: width, height: height,
                        target: (target[t.0], target[t.1], target[t.2]),
                        origin: (rig.rest[t.0], rig.rest[t.1], rig.rest[t.2]))
                }
                let opening = rig.mouthOpening(target)
                interior.paint(
                    into: out, width: width, height: height, upper: opening.upper, lower: opening.lower,
                    rest: restOpening, teeth: !rig.mouthOpenAtRest)
            }
        }
    }
}
