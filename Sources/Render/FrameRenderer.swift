import Dispatch
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
    /// Threads one frame is rendered on (bands of rows at once); 1 renders on the caller's alone.
    public var threads = 1

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
        let chromaTarget = target.map { $0 * 0.5 }
        let (width, height) = (base.width, base.height)
        let opening = rig.mouthOpening(target)
        let still = stillMouth(motion.head)
        let jaws = MouthInterior.Jaws(
            centre: still.centre, across: still.across, width: rig.landmarks.mouthWidth, reference: still.meeting,
            lowerShift: rig.lowerJawShift(motion.mouth), upperTeeth: !rig.mouthOpenAtRest)
        // Unmoved triangles already hold the still picture.
        let moving = rig.movingTriangles.filter { i in
            let t = rig.triangles[i]
            return target[t.0] != rig.rest[t.0] || target[t.1] != rig.rest[t.1] || target[t.2] != rig.rest[t.2]
        }
        base.y.withUnsafeBufferPointer { by in
            base.u.withUnsafeBufferPointer { bu in
                base.v.withUnsafeBufferPointer { bv in
                    frame.y.withUnsafeMutableBufferPointer { fy in
                        frame.u.withUnsafeMutableBufferPointer { fu in
                            frame.v.withUnsafeMutableBufferPointer { fv in
                                let planes = Planes(
                                    source: (by.baseAddress!, bu.baseAddress!, bv.baseAddress!),
                                    frame: (fy.baseAddress!, fu.baseAddress!, fv.baseAddress!))
                                // Bands of rows, an even number each (so that chroma rows split
                                // exactly), rendered at once on as many threads.
                                let bands = max(1, min(threads, (r.y1 - r.y0) / 64))
                                let rowsPerBand = ((r.y1 - r.y0) / bands + 1) & ~1
                                let band: @Sendable (Int) -> Void = { k in
                                    let y0 = min(r.y1, r.y0 + k * rowsPerBand)
                                    let y1 = k == bands - 1 ? r.y1 : min(r.y1, y0 + rowsPerBand)
                                    // The first and last bands reach past the region, as one
                                    // whole warp would.
                                    let rows = (k == 0 ? 0 : y0)..<(k == bands - 1 ? Int.max : y1)
                                    self.renderBand(
                                        planes, region: (r.x0, y0, r.x1, y1), rows: rows, moving: moving,
                                        target: target, chromaTarget: chromaTarget, width: width, height: height)
                                }
                                if bands == 1 {
                                    band(0)
                                } else {
                                    DispatchQueue.concurrentPerform(iterations: bands, execute: band)
                                }
                                interior.paint(
                                    into: MouthInterior.Planes(
                                        y: fy.baseAddress!, u: fu.baseAddress!, v: fv.baseAddress!, width: width,
                                        height: height),
                                    upper: opening.upper, lower: opening.lower, rest: still.opening, jaws: jaws)
                            }
                        }
                    }
                }
            }
        }
    }

    /// The base and frame planes of one render, lent to the band threads for its duration.
    private struct Planes: @unchecked Sendable {
        let source: (UnsafePointer<UInt8>, UnsafePointer<UInt8>, UnsafePointer<UInt8>)
        let frame: (UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt8>)
    }

    /// Restores luma rows `region.y0..<region.y1` of the animated region to the still picture, then
    /// warps the moving triangles into output rows `rows` (chroma: the same rows halved).
    private func renderBand(
        _ planes: Planes, region: (x0: Int, y0: Int, x1: Int, y1: Int), rows: Range<Int>, moving: [Int],
        target: [Point], chromaTarget: [Point], width: Int, height: Int
    ) {
        restore(from: planes.source.0, into: planes.frame.0, width: width, region)
        let half = (region.x0 / 2, region.y0 / 2, region.x1 / 2, region.y1 / 2)
        restore(from: planes.source.1, into: planes.frame.1, width: width / 2, half)
        restore(from: planes.source.2, into: planes.frame.2, width: width / 2, half)
        let chromaRows = (rows.lowerBound / 2)..<(rows.upperBound == Int.max ? Int.max : rows.upperBound / 2)
        for i in moving {
            let t = rig.triangles[i]
            TriangleWarp.warp(
                from: planes.source.0, into: planes.frame.0, width: width, height: height,
                target: (target[t.0], target[t.1], target[t.2]),
                origin: (rig.rest[t.0], rig.rest[t.1], rig.rest[t.2]), rows: rows)
            let ct = (chromaTarget[t.0], chromaTarget[t.1], chromaTarget[t.2])
            let co = (chromaRest[t.0], chromaRest[t.1], chromaRest[t.2])
            TriangleWarp.warp(
                from: planes.source.1, into: planes.frame.1, also: (planes.source.2, planes.frame.2), width: width / 2,
                height: height / 2, target: ct, origin: co, rows: chromaRows)
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
