import Foundation
import MouthpieceCore

/// One frame's face in a tracked clip.
public struct TrackedFace: Equatable, Sendable {
    /// Landmarks, in frame pixels (smoothed over time once the track is finished).
    public var landmarks: FaceLandmarks
    public let pose: HeadPose
    /// Whether the face is fit to be edited: found, big enough, not turned too far.
    public let usable: Bool

    public init(landmarks: FaceLandmarks, pose: HeadPose, usable: Bool) {
        self.landmarks = landmarks
        self.pose = pose
        self.usable = usable
    }
}

/// The face over every frame of a clip: nil where no face was found.
public struct FaceTrack: Sendable {
    public var frames: [TrackedFace?]

    public init(frames: [TrackedFace?]) { self.frames = frames }

    public var usableCount: Int { frames.lazy.filter { $0?.usable == true }.count }
}

/// Follows one face through a clip, frame by frame: `YUVImage -> TrackedFace?`.
///
/// The detector runs on the first frame, every `redetectInterval` frames and whenever the fit looks
/// lost; in between, the landmarks are fitted in a box carried over from the previous frame (the
/// shape predictor is fast, the detector is not). The identity is the largest face of the first
/// frame that has one (or `faceIndex`), then the face that overlaps the last known place most.
/// `finish()` smooths the landmarks over time without lag (see `FaceTrack.smoothed`).
public final class FaceTracker {
    public var redetectInterval = 8
    /// Faces turned further than this (degrees of yaw) are left alone.
    public var yawLimit = 40.0
    /// Faces smaller than this (pixels between the eye centres) are left alone.
    public var minimumInterocular = 24.0

    private let analyzer: FaceAnalyzer
    private let faceIndex: Int?
    private var frames: [TrackedFace?] = []
    private var previous: FaceLandmarks?
    /// The detector's box relative to the landmarks' bounds, learnt at the last detection.
    private var boxFromBounds = (dx: 0.0, dy: 0.0, sx: 1.0, sy: 1.0)
    private var lastDetection = Int.min / 2
    private var identityChosen = false
    private var lastKnownBox: Rect?

    public init(models: FaceModels, faceIndex: Int? = nil) {
        var analyzer = FaceAnalyzer(models: models)
        analyzer.detectionSize = 640
        self.analyzer = analyzer
        self.faceIndex = faceIndex
    }

    /// Tracks the next frame of the clip.
    @discardableResult
    public func track(_ frame: YUVImage) throws -> TrackedFace? {
        let n = frames.count
        var landmarks: FaceLandmarks?
        if let previous, n - lastDetection < redetectInterval {
            let fitted = try fit(frame, box: box(around: previous))
            if plausible(fitted, after: previous) { landmarks = fitted }
        }
        if landmarks == nil { landmarks = try detect(frame, at: n) }
        previous = landmarks
        guard let landmarks else {
            frames.append(nil)
            return nil
        }
        let pose = FaceAnalyzer.pose(of: landmarks)
        let inside = landmarks.points.allSatisfy {
            $0.x >= 0 && $0.y >= 0 && $0.x < Double(frame.width) && $0.y < Double(frame.height)
        }
        let face = TrackedFace(
            landmarks: landmarks, pose: pose,
            usable: inside && abs(pose.yaw) <= yawLimit && landmarks.interocular >= minimumInterocular)
        frames.append(face)
        return face
    }

    /// The whole track, smoothed.
    public func finish() -> FaceTrack { FaceTrack(frames: frames).smoothed() }

    private func detect(_ frame: YUVImage, at n: Int) throws -> FaceLandmarks? {
        lastDetection = n
        let gray = Self.grayRGB(frame, x0: 0, y0: 0, width: frame.width, height: frame.height)
        let boxes = try analyzer.detect(gray)
        guard !boxes.isEmpty else { return nil }
        let chosen: FaceAnalyzer.Box
        if let lastKnownBox, identityChosen {
            // The same person: the box that overlaps the last known place most, if any does.
            func overlap(_ b: FaceAnalyzer.Box) -> Double {
                let common = b.rect.intersection(lastKnownBox).area
                return common / max(1, b.rect.area + lastKnownBox.area - common)
            }
            guard let best = boxes.max(by: { overlap($0) < overlap($1) }), overlap(best) > 0.1 else { return nil }
            chosen = best
        } else {
            let ordered = boxes.sorted { $0.rect.area > $1.rect.area }
            if let faceIndex {
                // The strongest-first order, as for a portrait.
                guard boxes.indices.contains(faceIndex) else { return nil }
                chosen = boxes[faceIndex]
            } else {
                chosen = ordered[0]
            }
            identityChosen = true
        }
        let landmarks = try fit(frame, box: chosen.rect)
        let bounds = Rect.bounding(landmarks.points)
        boxFromBounds = (
            (chosen.rect.minX - bounds.minX) / max(bounds.width, 1),
            (chosen.rect.minY - bounds.minY) / max(bounds.height, 1),
            chosen.rect.width / max(bounds.width, 1), chosen.rect.height / max(bounds.height, 1)
        )
        lastKnownBox = chosen.rect
        return landmarks
    }

    /// Where the detector would put its box for a face with these landmarks.
    private func box(around landmarks: FaceLandmarks) -> Rect {
        let bounds = Rect.bounding(landmarks.points)
        return Rect(
            x: bounds.minX + boxFromBounds.dx * bounds.width, y: bounds.minY + boxFromBounds.dy * bounds.height,
            width: bounds.width * boxFromBounds.sx, height: bounds.height * boxFromBounds.sy)
    }

    /// Fits landmarks in `box`, looking only at a grey crop around it.
    private func fit(_ frame: YUVImage, box: Rect) throws -> FaceLandmarks {
        let margin = max(box.width, box.height) * 0.6
        let x0 = max(0, Int(box.minX - margin))
        let y0 = max(0, Int(box.minY - margin))
        let x1 = min(frame.width, Int(box.maxX + margin))
        let y1 = min(frame.height, Int(box.maxY + margin))
        guard x1 - x0 >= 16, y1 - y0 >= 16 else { return FaceLandmarks(points: [Point](repeating: .zero, count: 68)) }
        let crop = Self.grayRGB(frame, x0: x0, y0: y0, width: x1 - x0, height: y1 - y0)
        let local = FaceAnalyzer.Box(
            rect: Rect(x: box.minX - Double(x0), y: box.minY - Double(y0), width: box.width, height: box.height),
            score: 1)
        let origin = Point(Double(x0), Double(y0))
        let landmarks = try analyzer.fitLandmarks(crop, box: local).mapped { $0 + origin }
        lastKnownBox = self.box(around: landmarks)
        return landmarks
    }

    /// Whether a fit carried over from the previous frame still sits on a face: the eyes and nose
    /// moved less than half the eye distance, and the face kept its size.
    private func plausible(_ fitted: FaceLandmarks, after previous: FaceLandmarks) -> Bool {
        let stable = Array(27...47)
        let moved = stable.map { fitted[$0].distance(to: previous[$0]) }.reduce(0, +) / Double(stable.count)
        let ratio = fitted.interocular / max(previous.interocular, 1)
        return moved < 0.5 * previous.interocular && ratio > 0.8 && ratio < 1.25
    }

    /// A region of the frame's luma as a grey RGB picture (what the detector and predictor read).
    static func grayRGB(_ frame: YUVImage, x0: Int, y0: Int, width: Int, height: Int) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        frame.y.withUnsafeBufferPointer { luma in
            pixels.withUnsafeMutableBufferPointer { out in
                var o = 0
                for row in y0..<(y0 + height) {
                    var i = row * frame.width + x0
                    for _ in 0..<width {
                        let value = luma[i]
                        out[o] = value
                        out[o + 1] = value
                        out[o + 2] = value
                        o += 3
                        i += 1
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}

extension FaceTrack {
    /// The track with each landmark smoothed over time, without lag: every frame's points are a
    /// weighted mean of its neighbours' (up to 3 frames each way), after the neighbours' rigid head
    /// motion is undone (a similarity fitted on the eyes and nose), with weights that fall with time
    /// and with how far a point's shape differs. Jitter of a pixel or two averages out; real motion,
    /// fast or not, stays, because the head's own motion is taken out before averaging and a
    /// genuine change of shape (a mouth opening) gets little weight from frames that differ.
    public func smoothed(radius: Int = 3, timeSigma: Double = 1.5, shapeSigma: Double = 0.025) -> FaceTrack {
        let stable = Array(27...47)
        var out = frames
        for n in frames.indices {
            guard let face = frames[n] else { continue }
            let here = face.landmarks
            let sigma = shapeSigma * max(here.interocular, 1)
            var sums = [Point](repeating: .zero, count: 68)
            var weights = [Double](repeating: 0, count: 68)
            for k in max(0, n - radius)...min(frames.count - 1, n + radius) {
                guard let other = frames[k] else { continue }
                let align = Similarity.fit(
                    from: stable.map { other.landmarks[$0] }, to: stable.map { here[$0] })
                let wt = exp(-Double((k - n) * (k - n)) / (2 * timeSigma * timeSigma))
                for i in 0..<68 {
                    let p = align.apply(other.landmarks[i])
                    let d = p.distance(to: here[i])
                    let w = wt * exp(-d * d / (2 * sigma * sigma))
                    sums[i] += p * w
                    weights[i] += w
                }
            }
            var points = here.points
            for i in 0..<68 where weights[i] > 0 { points[i] = sums[i] * (1 / weights[i]) }
            out[n]?.landmarks = FaceLandmarks(points: points)
        }
        return FaceTrack(frames: out)
    }
}

extension FaceTrack {
    private static let magic = Array("MPTRACK1".utf8)

    /// The track as bytes (to keep with a video avatar): a header, the frame count, then per frame
    /// a flag (0 no face, 1 a face, 2 a usable face) and, with a face, yaw, roll and the 68 points
    /// as little-endian 32-bit floats.
    public func serialized() -> [UInt8] {
        var out = Self.magic
        func put(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { out += $0 } }
        func put(_ value: Double) { put(Float(value).bitPattern) }
        put(UInt32(frames.count))
        for frame in frames {
            guard let frame else {
                out.append(0)
                continue
            }
            out.append(frame.usable ? 2 : 1)
            put(frame.pose.yaw)
            put(frame.pose.roll)
            for p in frame.landmarks.points {
                put(p.x)
                put(p.y)
            }
        }
        return out
    }

    /// Reads `serialized()` bytes; nil when they are not a track.
    public init?(serialized bytes: [UInt8]) {
        guard bytes.count >= 12, Array(bytes[0..<8]) == Self.magic else { return nil }
        var offset = 8
        func word() -> UInt32? {
            guard offset + 4 <= bytes.count else { return nil }
            defer { offset += 4 }
            return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
                | UInt32(bytes[offset + 3]) << 24
        }
        func number() -> Double? { word().map { Double(Float(bitPattern: $0)) } }
        guard let count = word(), count <= 1_000_000 else { return nil }
        var frames: [TrackedFace?] = []
        frames.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard offset < bytes.count else { return nil }
            let flag = bytes[offset]
            offset += 1
            guard flag != 0 else {
                frames.append(nil)
                continue
            }
            guard flag <= 2, let yaw = number(), let roll = number() else { return nil }
            var points: [Point] = []
            for _ in 0..<68 {
                guard let x = number(), let y = number() else { return nil }
                points.append(Point(x, y))
            }
            frames.append(
                TrackedFace(
                    landmarks: FaceLandmarks(points: points), pose: HeadPose(yaw: yaw, roll: roll), usable: flag == 2))
        }
        guard offset == bytes.count else { return nil }
        self.init(frames: frames)
    }
}
