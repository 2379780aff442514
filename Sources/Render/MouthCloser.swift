import Face
import Foundation
import MouthpieceCore

/// Closes a mouth photographed wide open, once, before anything is animated: the jaw comes up and
/// the lips meet, so that the portrait can rest with its mouth shut and open it only to speak.
///
/// Works column by column across the face (in the face's own axes): the gap between the inner lip
/// edges is taken out; the upper lip comes down a fifth of it, stretching the skin under the nose;
/// the lower lip and the jaw come up the rest, the chin by the jaw's share (less towards the ears,
/// where the jaw hinges), and the neck stretches under the chin. Every shift tapers to nothing at
/// the mouth's corners and the jaw's sides, so no edge shows, and the background stays put.
public enum MouthCloser {
    /// How much of the gap the upper lip closes; the lower lip and the jaw close the rest.
    static let upperShare = 0.2

    public struct Result: Sendable {
        public let image: RGBImage
        public let landmarks: FaceLandmarks
    }

    /// The rig for a portrait, with the mouth closed first when it is too wide open to close by
    /// warping the lips alone (`FaceRig.tooOpenToClose`): the base picture to render from, and
    /// whether it was closed.
    public static func rig(
        base: RGBImage, landmarks: FaceLandmarks, expressiveness: Double = 1, wholeHead: Bool = false
    ) -> (base: RGBImage, rig: FaceRig, closed: Bool) {
        let rig = FaceRig(
            landmarks: landmarks, frameWidth: base.width, frameHeight: base.height, expressiveness: expressiveness,
            portrait: base, wholeHead: wholeHead)
        guard needsClosing(rig) else { return (base, rig, false) }
        let closed = close(base, landmarks: landmarks)
        // Closed by construction: the rig is not to look for teeth between the lips again.
        let closedRig = FaceRig(
            landmarks: closed.landmarks, frameWidth: base.width, frameHeight: base.height,
            expressiveness: expressiveness, portrait: nil, wholeHead: wholeHead)
        return (closed.image, closedRig, true)
    }

    /// Whether a portrait's mouth is closed before animating: lips too far apart to close by
    /// warping them (`FaceRig.tooOpenToClose`), or apart by dlib's points (over 5 % of the
    /// mouth's width) where no opening could be traced from the pixels to warp them by (a soft,
    /// dim photo taken mid-word).
    public static func needsClosing(_ rig: FaceRig) -> Bool {
        rig.tooOpenToClose
            || (rig.restOpening == 0 && rig.landmarks.innerLipGap > 0.05 * rig.landmarks.mouthWidth)
    }

    public static func close(_ image: RGBImage, landmarks: FaceLandmarks) -> Result {
        let field = Field(landmarks: landmarks)
        var out = image
        let region = field.region(width: image.width, height: image.height)
        guard region.x0 < region.x1, region.y0 < region.y1 else { return Result(image: image, landmarks: landmarks) }
        for y in region.y0..<region.y1 {
            for x in region.x0..<region.x1 {
                let p = Point(Double(x) + 0.5, Double(y) + 0.5)
                let (s, t) = field.face(p)
                guard let source = field.sourceT(s: s, t: t), abs(source - t) > 1e-3 else { continue }
                let q = field.picture(s, source)
                var c = sample(image, q.x - 0.5, q.y - 0.5)
                // Across the line where the lips meet, the upper and lower lips' pixels blend over
                // a pixel or two instead of butting.
                if let (other, weight) = field.acrossMeeting(s: s, t: t) {
                    let r = field.picture(s, other)
                    let d = sample(image, r.x - 0.5, r.y - 0.5)
                    c = (c.0 + (d.0 - c.0) * weight, c.1 + (d.1 - c.1) * weight, c.2 + (d.2 - c.2) * weight)
                }
                // Where the lips now meet, the slight shadow of the line between them.
                let line = field.meetingShadow(s: s, t: t)
                if line > 0 { c = (c.0 * (1 - line), c.1 * (1 - line), c.2 * (1 - line)) }
                let o = y * image.stride + x * 3
                out.pixels[o] = UInt8(min(255, max(0, c.0.rounded())))
                out.pixels[o + 1] = UInt8(min(255, max(0, c.1.rounded())))
                out.pixels[o + 2] = UInt8(min(255, max(0, c.2.rounded())))
            }
        }
        let moved = landmarks.points.enumerated().map { i, p -> Point in
            let (s, t) = field.face(p)
            // The inner lips and corners meet on the closing line.
            if (60...67).contains(i) { return field.picture(s, field.meeting(s)) }
            return field.picture(s, field.forwardT(s: s, t: t))
        }
        return Result(image: out, landmarks: FaceLandmarks(points: moved))
    }

    /// Bilinear sample of an RGB image at continuous pixel coordinates (centres at integers).
    static func sample(_ image: RGBImage, _ x: Double, _ y: Double) -> (Double, Double, Double) {
        let x0 = min(max(Int(x.rounded(.down)), 0), image.width - 1)
        let y0 = min(max(Int(y.rounded(.down)), 0), image.height - 1)
        let x1 = min(x0 + 1, image.width - 1)
        let y1 = min(y0 + 1, image.height - 1)
        let fx = min(1, max(0, x - Double(x0)))
        let fy = min(1, max(0, y - Double(y0)))
        var c = (0.0, 0.0, 0.0)
        for (xx, yy, w) in [
            (x0, y0, (1 - fx) * (1 - fy)), (x1, y0, fx * (1 - fy)), (x0, y1, (1 - fx) * fy), (x1, y1, fx * fy),
        ]
        where w > 0 {
            let p = image[xx, yy]
            c = (c.0 + Double(p.0) * w, c.1 + Double(p.1) * w, c.2 + Double(p.2) * w)
        }
        return c
    }

    /// The closing's displacement, along the face's vertical, as a function of the face's axes.
    struct Field {
        let origin: Point
        let across: Point
        let down: Point
        /// Inner lip edges, corner to corner, as (s, t) polylines.
        let upper: [Point]
        let lower: [Point]
        /// The jaw's outline from one side to the other.
        let jaw: [Point]
        let mouthSpan: ClosedRange<Double>
        let jawSpan: ClosedRange<Double>
        /// Where the skin above the upper lip stops stretching: the base of the nose.
        let noseBase: Double
        /// The ear line, about which the jaw hinges.
        let hinge: Double
        /// How far the chin rises.
        let jawRise: Double
        let chinDepth: Double
        let neckSpan: Double
        let mouthWidth: Double

        init(landmarks: FaceLandmarks) {
            let eyes = landmarks.rightEyeCenter - landmarks.leftEyeCenter
            across = eyes * (1 / max(eyes.length, 1))
            down = Point(-across.y, across.x)
            origin = landmarks[48].lerp(to: landmarks[54], 0.5)
            let o = origin
            let (a, d) = (across, down)
            func st(_ i: Int) -> Point {
                let v = landmarks[i] - o
                return Point(v.x * a.x + v.y * a.y, v.x * d.x + v.y * d.y)
            }
            // dlib's inner points are few: between them a straight line cuts across the rounded
            // opening of a wide-open mouth. Its edges also keep about the lips' thickness from the
            // outer contour (which dlib fits well), thinning to the corners; whichever of the two
            // opens the mouth more is the edge.
            let innerUpper = MouthInterior.smooth([48, 61, 62, 63, 54].map(st))
            let innerLower = MouthInterior.smooth([48, 67, 66, 65, 54].map(st))
            let outerUpper = [48, 49, 50, 51, 52, 53, 54].map(st)
            let outerLower = [48, 59, 58, 57, 56, 55, 54].map(st)
            let (left, right) = (st(48).x, st(54).x)
            let upperThickness = max(0, st(62).y - st(51).y)
            let lowerThickness = 0.75 * max(0, st(57).y - st(66).y)
            func profile(_ x: Double) -> Double {
                let u = (x - left) / max(right - left, 1)
                return 0.5 + 0.5 * min(1, max(0, 2 * min(u, 1 - u))).squareRoot()
            }
            upper = innerUpper.map { p in
                let outer = MouthInterior.interpolate(outerUpper, at: p.x).map { $0 + upperThickness * profile(p.x) }
                return Point(p.x, min(p.y, outer ?? p.y))
            }
            lower = innerLower.map { p in
                let outer = MouthInterior.interpolate(outerLower, at: p.x).map { $0 - lowerThickness * profile(p.x) }
                return Point(p.x, max(p.y, outer ?? p.y))
            }
            jaw = (2...14).map(st)
            mouthSpan = min(st(48).x, st(54).x)...max(st(48).x, st(54).x) + 1e-6
            jawSpan = jaw[0].x...max(jaw[jaw.count - 1].x, jaw[0].x + 1)
            noseBase = st(33).y
            hinge = (st(0).y + st(16).y) / 2
            mouthWidth = max(landmarks.mouthWidth, 1)
            let middleGap = max(
                0, (MouthInterior.interpolate(lower, at: 0) ?? 0) - (MouthInterior.interpolate(upper, at: 0) ?? 0))
            jawRise = (1 - MouthCloser.upperShare) * middleGap
            chinDepth = max(st(8).y - hinge, mouthWidth * 0.5)
            neckSpan = max(2.5 * jawRise, 0.35 * chinDepth)
        }

        func face(_ p: Point) -> (Double, Double) {
            let v = p - origin
            return (v.x * across.x + v.y * across.y, v.x * down.x + v.y * down.y)
        }

        func picture(_ s: Double, _ t: Double) -> Point { origin + across * s + down * t }

        /// The bounding box of everything that moves, in whole pixels.
        func region(width: Int, height: Int) -> (x0: Int, y0: Int, x1: Int, y1: Int) {
            var corners: [Point] = []
            let bottom = jaw.map(\.y).max() ?? 0
            for s in [jawSpan.lowerBound, jawSpan.upperBound] {
                for t in [noseBase, bottom + neckSpan] { corners.append(picture(s, t)) }
            }
            let box = Rect.bounding(corners)
            return (
                max(0, Int(box.minX) - 1), max(0, Int(box.minY) - 1), min(width, Int(box.maxX) + 2),
                min(height, Int(box.maxY) + 2)
            )
        }

        func gap(_ s: Double) -> Double {
            guard mouthSpan.contains(s), let u = MouthInterior.interpolate(upper, at: s),
                let l = MouthInterior.interpolate(lower, at: s)
            else { return 0 }
            return max(0, l - u)
        }

        /// Where the lips meet once closed.
        func meeting(_ s: Double) -> Double {
            let u = MouthInterior.interpolate(upper, at: s) ?? 0
            return u + MouthCloser.upperShare * gap(s)
        }

        /// 1 between the jaw's sides, fading out towards them.
        func sideWeight(_ s: Double) -> Double {
            let fade = 0.18 * (jawSpan.upperBound - jawSpan.lowerBound)
            return smoothstep((s - jawSpan.lowerBound) / fade) * smoothstep((jawSpan.upperBound - s) / fade)
        }

        /// The lower knots of a column: where the shift starts (the lower lip's edge, or the line
        /// between the corners outside the mouth), the jaw's outline and the end of the neck's
        /// stretch, with the upward shift at each.
        func lowerKnots(_ s: Double) -> [(t: Double, shift: Double)]? {
            guard jawSpan.contains(s), let chin = MouthInterior.interpolate(jaw, at: s) else { return nil }
            let w = sideWeight(s)
            let g = gap(s)
            let start: Double
            if g > 0, let l = MouthInterior.interpolate(lower, at: s) {
                start = l
            } else {
                start = 0
            }
            guard chin > start + 1 else { return nil }
            // The jaw swings about the hinge: the chin rises most, the jaw's sides little (as the
            // rig drops it).
            let reach = min(1, max(0, (chin - hinge) / chinDepth))
            let lipShift = (1 - MouthCloser.upperShare) * g
            // Never more than most of the skin between the lips and the jaw's outline, so that
            // nothing folds over where the two come close (the jaw's sides).
            let chinShift = min(jawRise * reach * reach.squareRoot() * w, lipShift + 0.6 * (chin - start - 1))
            return [(start, lipShift), (chin, chinShift), (chin + neckSpan, 0)]
        }

        /// The upward shift of a source point at (s, t), below the lips.
        func lowerShift(s: Double, t: Double) -> Double {
            guard let k = lowerKnots(s), t >= k[0].t, t <= k[2].t else { return 0 }
            let (a, b) = t <= k[1].t ? (k[0], k[1]) : (k[1], k[2])
            return a.shift + (b.shift - a.shift) * (t - a.t) / max(b.t - a.t, 1e-9)
        }

        /// Where a source point goes (t only; s is kept).
        func forwardT(s: Double, t: Double) -> Double {
            let g = gap(s)
            if g > 0, let u = MouthInterior.interpolate(upper, at: s), t >= noseBase, t <= u {
                let down = MouthCloser.upperShare * g
                return t + down * (t - noseBase) / max(u - noseBase, 1e-9)
            }
            return t - lowerShift(s: s, t: t)
        }

        /// The source t for an output point, or nil where nothing moves.
        func sourceT(s: Double, t: Double) -> Double? {
            guard jawSpan.contains(s) else { return nil }
            let g = gap(s)
            let meet = meeting(s)
            if g > 0, let u = MouthInterior.interpolate(upper, at: s), t >= noseBase, t < meet {
                // The stretched skin under the nose and the upper lip.
                let down = MouthCloser.upperShare * g
                return noseBase + (t - noseBase) * (u - noseBase) / max(u + down - noseBase, 1e-9)
            }
            guard let k = lowerKnots(s) else { return nil }
            let outputs = k.map { $0.t - $0.shift }
            if t < outputs[0] || t > outputs[2] { return nil }
            let j = t <= outputs[1] ? 0 : 1
            let span = outputs[j + 1] - outputs[j]
            guard span > 1e-9 else { return k[j].t }
            return k[j].t + (t - outputs[j]) * (k[j + 1].t - k[j].t) / span
        }

        /// Near the line where the lips meet: the source on the line's other side (the lip that
        /// would continue across it) and how much of it to mix in, up to a half at the line.
        func acrossMeeting(s: Double, t: Double) -> (Double, Double)? {
            let g = gap(s)
            guard g > 0, let u = MouthInterior.interpolate(upper, at: s),
                let l = MouthInterior.interpolate(lower, at: s)
            else { return nil }
            let meet = meeting(s)
            let width = max(1.5, 0.01 * mouthWidth)
            let d = t - meet
            guard abs(d) < width else { return nil }
            let weight = 0.5 * (1 - abs(d) / width)
            // Mirror across the line: above it, the lower lip just below its edge; below, the upper.
            return d < 0 ? (l - d, weight) : (u - d, weight)
        }

        /// How much darker the line between the closed lips is at an output point.
        func meetingShadow(s: Double, t: Double) -> Double {
            let g = gap(s)
            guard g > 0 else { return 0 }
            let d = t - meeting(s)
            let u = (s - mouthSpan.lowerBound) / (mouthSpan.upperBound - mouthSpan.lowerBound)
            let taper = smoothstep(min(u, 1 - u) * 6)
            let width = max(1.0, 0.008 * mouthWidth)
            return 0.5 * taper * exp(-(d / width) * (d / width))
        }
    }
}
