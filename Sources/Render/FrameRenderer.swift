import Face
import Media
import Motion
import MouthpieceCore

/// Renders frames: the still base picture with the face region re-warped for each `FaceMotion`
/// and the mouth interior painted where the lips part. Pixels outside the animated region are
/// never written, so the background stays exactly the base picture.
///
/// Frames are YUV 4:2:0, the encoder's format: each plane is warped with the same mesh (chroma at
/// half scale), so no frame is ever converted from RGB.
public struct FrameRenderer: Sendable {
    public let base: YUVImage
    public let rig: FaceRig
    let interior: MouthInterior
    let restOpening: (upper: [Point], lower: [Point])
    /// The rest vertices on the half-resolution chroma grid.
    let chromaRest: [Point]
    /// Bounding box of the animated region, in whole luma pixels with even bounds: `x0..<x1`, `y0..<y1`.
    public let animatedRegion: (x0: Int, y0: Int, x1: Int, y1: Int)

    /// The face with some margin, clamped to the frame and even-aligned: what previews show.
    public var faceRegion: (x0: Int, y0: Int, x1: Int, y1: Int) {
        let box = Rect.bounding(rig.landmarks.points)
        let margin = max(box.width, box.height) * 0.15
        return (
            max(0, Int(box.minX - margin) & ~1), max(0, Int(box.minY - margin) & ~1),
            min(base.width, Int(box.maxX + margin + 1) & ~1), min(base.height, Int(box.maxY + margin + 1) & ~1)
        )
    }

    /// `base` is the still frame in RGB; it is converted to YUV once here. `enlargement` is how
    /// much the portrait was scaled up to make it (1 or less: not at all).
    public init(base: RGBImage, rig: FaceRig, enlargement: Double = 1) {
        self.base = PixelConverter.toYUV(base)
        self.rig = rig
        interior = MouthInterior(base: base, landmarks: rig.landmarks, softness: enlargement)
        restOpening = rig.mouthOpening(rig.rest)
        chromaRest = rig.rest.map { $0 * 0.5 }
        // The moving triangles' outer edges join fixed vertices, so their union never changes.
        var points: [Point] = []
        for i in rig.movingTriangles {
            let t = rig.triangles[i]
            points += [rig.rest[t.0], rig.rest[t.1], rig.rest[t.2]]
        }
        let box = Rect.bounding(points.isEmpty ? [Point.zero] : points)
        animatedRegion = (
            max(0, (Int(box.minX.rounded(.down)) - 2) & ~1), max(0, (Int(box.minY.rounded(.down)) - 2) & ~1),
            min(base.width, (Int(box.maxX.rounded(.up)) + 3) & ~1),
            min(base.height, (Int(box.maxY.rounded(.up)) + 3) & ~1)
        )
    }

    /// A frame to render into: starts as the base picture.
    public func makeFrame() -> YUVImage { base }

    /// Renders `motion` into `frame`, which must have come from `makeFrame()`.
    public func render(_ motion: FaceMotion, into frame: inout YUVImage) {
        let target = rig.deform(motion)
        let r = animatedRegion
        let chroma = (target.map { $0 * 0.5 }, chromaRest)
        let (width, height) = (base.width, base.height)
        let opening = rig.mouthOpening(target)
        let still = stillMouth(motion.head)
        let jaws = MouthInterior.Jaws(
            centre: still.centre, across: still.across, width: rig.landmarks.mouthWidth, reference: still.meeting,
            lowerShift: rig.lowerJawShift(motion.mouth), upperTeeth: !rig.mouthOpenAtRest)
        base.y.withUnsafeBufferPointer { by in
            base.u.withUnsafeBufferPointer { bu in
                base.v.withUnsafeBufferPointer { bv in
                    frame.y.withUnsafeMutableBufferPointer { fy in
                        frame.u.withUnsafeMutableBufferPointer { fu in
                            frame.v.withUnsafeMutableBufferPointer { fv in
                                let y = fy.baseAddress!
                                let u = fu.baseAddress!
                                let v = fv.baseAddress!
                                // Start from the still picture inside the animated region.
                                restore(from: by.baseAddress!, into: y, width: width, (r.x0, r.y0, r.x1, r.y1))
                                let half = (r.x0 / 2, r.y0 / 2, r.x1 / 2, r.y1 / 2)
                                restore(from: bu.baseAddress!, into: u, width: width / 2, half)
                                restore(from: bv.baseAddress!, into: v, width: width / 2, half)
                                for i in rig.movingTriangles {
                                    let t = rig.triangles[i]
                                    // Unmoved triangles already hold the still picture.
                                    if target[t.0] == rig.rest[t.0] && target[t.1] == rig.rest[t.1]
                                        && target[t.2] == rig.rest[t.2]
                                    {
                                        continue
                                    }
                                    TriangleWarp.warp(
                                        from: by.baseAddress!, into: y, width: width, height: height,
                                        target: (target[t.0], target[t.1], target[t.2]),
                                        origin: (rig.rest[t.0], rig.rest[t.1], rig.rest[t.2]))
                                    let ct = (chroma.0[t.0], chroma.0[t.1], chroma.0[t.2])
                                    let co = (chroma.1[t.0], chroma.1[t.1], chroma.1[t.2])
                                    TriangleWarp.warp(
                                        from: bu.baseAddress!, into: u, width: width / 2, height: height / 2,
                                        target: ct, origin: co)
                                    TriangleWarp.warp(
                                        from: bv.baseAddress!, into: v, width: width / 2, height: height / 2,
                                        target: ct, origin: co)
                                }
                                interior.paint(
                                    into: MouthInterior.Planes(y: y, u: u, v: v, width: width, height: height),
                                    upper: opening.upper, lower: opening.lower, rest: still.opening, jaws: jaws)
                            }
                        }
                    }
                }
            }
        }
    }

    /// The portrait's own mouth moved with the head alone: its opening, where its lips meet (the
    /// middle of the opening, left to right), its centre and its direction across.
    private func stillMouth(_ head: HeadMotion) -> (
        opening: (upper: [Point], lower: [Point]), meeting: [Point], centre: Point, across: Point
    ) {
        let opening: (upper: [Point], lower: [Point])
        let points: [Point]
        if head == .still {
            (opening, points) = (restOpening, rig.rest)
        } else {
            points = rig.deform(FaceMotion(mouth: rig.portraitMouth, head: head))
            opening = rig.mouthOpening(points)
        }
        let meeting = zip(opening.upper, opening.lower).map { $0.lerp(to: $1, 0.5) }
        let corners = (points[48], points[54])
        let span = corners.1 - corners.0
        return (opening, meeting, corners.0.lerp(to: corners.1, 0.5), span * (1 / max(span.length, 1)))
    }

    private func restore(
        from source: UnsafePointer<UInt8>, into frame: UnsafeMutablePointer<UInt8>, width: Int,
        _ r: (x0: Int, y0: Int, x1: Int, y1: Int)
    ) {
        guard r.x1 > r.x0 else { return }
        for row in r.y0..<r.y1 {
            let o = row * width + r.x0
            (frame + o).update(from: source + o, count: r.x1 - r.x0)
        }
    }
}
