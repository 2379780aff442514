import Face
import Foundation
import Media
import MouthpieceCore

/// Measures a finished clip from its own pixels and sound: landmarks re-detected on every frame,
/// mouth opening against the loudness of the clip's audio.
public struct LipSyncEvaluation: Sendable {
    public let frames: Int
    /// Frames in which no face was found.
    public let facesLost: Int
    /// Pearson correlation of mouth opening with loudness (dB), by lag in frames
    /// (positive: the mouth follows the sound).
    public let correlationByLag: [(lag: Int, r: Double)]
    /// Mean inner-lip gap per interocular distance in silent frames and in speech frames.
    public let openingInSilence: Double
    public let openingInSpeech: Double

    public var correlationAtZero: Double { correlationByLag.first { $0.lag == 0 }?.r ?? .nan }
    public var bestLag: Int { correlationByLag.max { $0.r < $1.r }?.lag ?? 0 }

    public static func evaluate(video path: String, maxLag: Int = 10) throws -> LipSyncEvaluation {
        let info = try MediaProbe.probe(path: path)
        guard let video = info.video, video.frameRate.den > 0 else {
            throw MouthpieceError(.invalidParameter, "\(path) has no video stream.", field: "video")
        }
        let fps = Double(video.frameRate.num) / Double(video.frameRate.den)
        let analyzer = FaceAnalyzer(models: try FaceModels.shared())
        var openings: [Double?] = []
        try VideoReader.forEachFrame(path: path) { _, frame in
            if let face = try? analyzer.analyze(frame) {
                openings.append(max(0, face.landmarks.innerLipGap) / face.landmarks.interocular)
            } else {
                openings.append(nil)
            }
            return true
        }
        let clip = try AudioDecoder.decode(path: path, sampleRate: 16_000)
        let hop = Double(clip.sampleRate) / fps
        let loudness: [Double] = openings.indices.map { n in
            let start = Int(Double(n) * hop)
            let end = min(clip.samples.count, Int(Double(n + 1) * hop))
            guard end > start else { return -100 }
            var energy = 0.0
            for i in start..<end { energy += Double(clip.samples[i] * clip.samples[i]) }
            return max(-60, 10 * log10(energy / Double(end - start) + 1e-12))
        }
        let loudest = loudness.max() ?? 0
        var silence: [Double] = []
        var speech: [Double] = []
        for (n, opening) in openings.enumerated() {
            guard let opening else { continue }
            if loudness[n] < loudest - 35 {
                silence.append(opening)
            } else if loudness[n] > loudest - 20 {
                speech.append(opening)
            }
        }
        var byLag: [(Int, Double)] = []
        for lag in -maxLag...maxLag {
            var xs: [Double] = []
            var ys: [Double] = []
            for n in openings.indices {
                let m = n - lag
                guard m >= 0, m < loudness.count, let opening = openings[n] else { continue }
                xs.append(opening)
                ys.append(loudness[m])
            }
            byLag.append((lag, pearson(xs, ys)))
        }
        return LipSyncEvaluation(
            frames: openings.count, facesLost: openings.filter { $0 == nil }.count, correlationByLag: byLag,
            openingInSilence: mean(silence), openingInSpeech: mean(speech))
    }

    static func mean(_ v: [Double]) -> Double { v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count) }

    static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        guard x.count > 2 else { return .nan }
        let mx = mean(x)
        let my = mean(y)
        var sxy = 0.0
        var sxx = 0.0
        var syy = 0.0
        for i in x.indices {
            sxy += (x[i] - mx) * (y[i] - my)
            sxx += (x[i] - mx) * (x[i] - mx)
            syy += (y[i] - my) * (y[i] - my)
        }
        return sxx > 0 && syy > 0 ? sxy / (sxx * syy).squareRoot() : .nan
    }
}
