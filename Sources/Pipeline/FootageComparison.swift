import Face
import Foundation
import Media
import MouthpieceCore

/// How an output made from footage (`lipsync`, or a clone from `render --video`) compares with that
/// footage: whether the face is still found wherever the footage had one, whether the upper face
/// and the background are the footage's own, and whether any frame-to-frame change is larger than
/// the footage's own largest (a visible jump at a turn-around).
public struct FootageComparison: Sendable {
    public let frames: Int
    /// Output frames whose source frame had a usable face.
    public let framesWithSourceFace: Int
    /// Of those, frames where the face is found in the output too.
    public let faceKept: Int
    /// Luma PSNR over the rows above the nose (dB): lowest and median over the frames with a face.
    public let upperFacePSNR: (lowest: Double, median: Double)
    /// Largest mean absolute luma change between consecutive frames: in the output, in the source.
    public let largestStep: (output: Double, source: Double)

    public var stepRatio: Double { largestStep.output / max(largestStep.source, 1e-9) }

    /// Compares `output` with `source`; `clone` maps frames as a clone does, else `syncMode` does.
    public static func compare(
        output: String, source: String, syncMode: SyncMode = .bounce, clone: Bool = false
    ) throws -> FootageComparison {
        // The source's face, frame by frame, and its own largest step.
        let reader = try VideoSource(path: source)
        let tracker = FaceTracker(models: try FaceModels.shared())
        var previous: YUVImage?
        var sourceStep = 0.0
        var count = 0
        while let frame = try reader.next() {
            try tracker.track(frame)
            if let previous { sourceStep = max(sourceStep, step(previous, frame)) }
            previous = frame
            count += 1
        }
        let track = tracker.finish()
        guard count > 0 else { throw MouthpieceError(.unsupportedVideo, "The source has no frames.", field: "source") }
        try reader.rewind()
        let sourceFrames = FrameCache(source: reader)
        let (first, last) = clone ? LipSyncJob.turningPoints(track) : (0, count - 1)

        let out = try VideoSource(path: output)
        let checker = FaceTracker(models: try FaceModels.shared())
        checker.redetectInterval = 1
        var (withFace, kept, n) = (0, 0, 0)
        var psnrs: [Double] = []
        var outputStep = 0.0
        previous = nil
        while let frame = try out.next() {
            let s =
                clone
                ? first + SyncMode.bounce.sourceFrame(n, count: last - first + 1)
                : syncMode.sourceFrame(n, count: count)
            if let face = track.frames[s], face.usable {
                withFace += 1
                if try checker.track(frame) != nil { kept += 1 }
                let original = try sourceFrames.frame(s)
                if original.width == frame.width && original.height == frame.height {
                    let rows = max(0, Int(face.landmarks[30].y) - 4)
                    psnrs.append(psnr(frame, original, rows: rows))
                }
            }
            if let previous { outputStep = max(outputStep, step(previous, frame)) }
            previous = frame
            n += 1
        }
        psnrs.sort()
        return FootageComparison(
            frames: n, framesWithSourceFace: withFace, faceKept: kept,
            upperFacePSNR: (psnrs.first ?? .nan, psnrs.isEmpty ? .nan : psnrs[psnrs.count / 2]),
            largestStep: (outputStep, sourceStep))
    }

    /// Mean absolute luma difference between two frames of the same size.
    static func step(_ a: YUVImage, _ b: YUVImage) -> Double {
        guard a.width == b.width && a.height == b.height else { return .infinity }
        var sum = 0
        for i in a.y.indices { sum += abs(Int(a.y[i]) - Int(b.y[i])) }
        return Double(sum) / Double(a.y.count)
    }

    /// Luma PSNR over rows `0..<rows`.
    static func psnr(_ a: YUVImage, _ b: YUVImage, rows: Int) -> Double {
        let count = min(rows, a.height) * a.width
        guard count > 0 else { return .nan }
        var sum = 0.0
        for i in 0..<count {
            let d = Double(a.y[i]) - Double(b.y[i])
            sum += d * d
        }
        let mse = sum / Double(count)
        return mse == 0 ? 99 : 10 * log10(255 * 255 / mse)
    }
}
