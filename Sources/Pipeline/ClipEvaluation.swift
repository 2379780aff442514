import Face
import Foundation
import Media
import MouthpieceCore

/// Measures a finished clip from its own pixels and sound: landmarks re-detected on every frame;
/// mouth opening against the loudness of the clip's audio, blinks, and head motion.
public struct ClipEvaluation: Sendable {
    public let frames: Int
    /// Frames in which no face was found.
    public let facesLost: Int
    /// Pearson correlation of mouth opening with loudness (dB), by lag in frames
    /// (positive: the mouth follows the sound).
    public let correlationByLag: [(lag: Int, r: Double)]
    /// Mean inner-lip gap per interocular distance in silent frames and in speech frames.
    public let openingInSilence: Double
    public let openingInSpeech: Double
    /// Blinks seen (eye aspect ratio dipping below 60 % of its median), per minute.
    public let blinksPerMinute: Double
    /// Root-mean-square movement of the nose tip about its mean, per interocular distance.
    public let noseMotion: Double
    /// Head motion as `docs/REALISM.md` measures it: the standard deviation of the point between
    /// the brows (the mean of the inner brow ends), per distance between the outer eye corners.
    /// Real speakers: 0.08 to 0.5; a still picture re-detected: well under 0.01.
    public let browMotion: Double
    /// Inner-lip gap per interocular distance at every frame (nil where no face was found).
    public let openings: [Double?]
    public let fps: Double

    public var correlationAtZero: Double { correlationByLag.first { $0.lag == 0 }?.r ?? .nan }
    public var bestLag: Int { correlationByLag.max { $0.r < $1.r }?.lag ?? 0 }

    public static func evaluate(video path: String, maxLag: Int = 10) throws -> ClipEvaluation {
        let info = try MediaProbe.probe(path: path)
        guard let video = info.video, video.frameRate.den > 0 else {
            throw MouthpieceError(.invalidParameter, "\(path) has no video stream.", field: "video")
        }
        let fps = Double(video.frameRate.num) / Double(video.frameRate.den)
        var analyzer = FaceAnalyzer(models: try FaceModels.shared())
        analyzer.recheckWeakFaces = false
        var openings: [Double?] = []
        var eyes: [Double] = []
        var noses: [Point] = []
        var brows: [Point] = []
        var eyeCorners = 0.0
        var interocular = 0.0
        try VideoReader.forEachFrame(path: path) { _, frame in
            if let face = try? analyzer.analyze(frame) {
                let l = face.landmarks
                openings.append(max(0, l.innerLipGap) / l.interocular)
                eyes.append((Self.eyeAspect(l, 36) + Self.eyeAspect(l, 42)) / 2)
                noses.append(l[30])
                brows.append(l[21].lerp(to: l[22], 0.5))
                eyeCorners += l[36].distance(to: l[45])
                interocular += l.interocular
            } else {
                openings.append(nil)
            }
            return true
        }
        interocular /= Double(max(1, noses.count))
        // Blinks: the eye aspect ratio dips well below its usual value; count each dip once.
        let usual = eyes.sorted()[eyes.count / 2]
        var blinks = 0
        var closed = false
        for ratio in eyes {
            if !closed && ratio < usual * 0.6 { blinks += 1 }
            closed = ratio < usual * 0.75 ? (closed || ratio < usual * 0.6) : false
        }
        let noseRMS = Self.spread(noses)
        let browSpread = Self.spread(brows) / max(eyeCorners / Double(max(1, brows.count)), 1)
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
        let byLag = correlationByLag(openings: openings, loudness: loudness, maxLag: maxLag)
        return ClipEvaluation(
            frames: openings.count, facesLost: openings.filter { $0 == nil }.count, correlationByLag: byLag,
            openingInSilence: mean(silence), openingInSpeech: mean(speech),
            blinksPerMinute: Double(blinks) / (Double(openings.count) / fps / 60),
            noseMotion: noseRMS / max(interocular, 1), browMotion: browSpread, openings: openings, fps: fps)
    }

    /// How the lips did on closures the script demands: for each time span (a /p b m/ phoneme, in
    /// seconds), the smallest opening in its frames as a share of the mean opening in speech.
    /// `closed` counts spans whose smallest opening is at most a third of it.
    public func closures(at spans: [ClosedRange<Double>]) -> (closed: Int, total: Int, medianShare: Double) {
        var shares: [Double] = []
        for span in spans {
            let first = max(0, Int((span.lowerBound * fps).rounded(.up)))
            let last = min(openings.count - 1, Int((span.upperBound * fps).rounded(.down)))
            // A phoneme shorter than a frame still owns the frame nearest its middle.
            let frames =
                first <= last
                ? Array(first...last)
                : [min(openings.count - 1, Int((span.lowerBound + span.upperBound) / 2 * fps + 0.5))]
            let seen = frames.compactMap { openings[$0] }
            guard let smallest = seen.min(), openingInSpeech > 0 else { continue }
            shares.append(smallest / openingInSpeech)
        }
        let sorted = shares.sorted()
        return (shares.filter { $0 <= 1.0 / 3 }.count, shares.count, sorted.isEmpty ? .nan : sorted[sorted.count / 2])
    }

    /// Root-mean-square distance of points from their mean (the standard deviation in 2D).
    static func spread(_ points: [Point]) -> Double {
        guard !points.isEmpty else { return 0 }
        let centre = Point.mean(points)
        return (points.reduce(0) { $0 + ($1 - centre).length * ($1 - centre).length } / Double(points.count))
            .squareRoot()
    }

    /// Height over width of the eye whose landmarks start at `first` (36 or 42).
    static func eyeAspect(_ l: FaceLandmarks, _ first: Int) -> Double {
        let height = l[first + 1].distance(to: l[first + 5]) + l[first + 2].distance(to: l[first + 4])
        return height / max(2 * l[first].distance(to: l[first + 3]), 1)
    }

    /// Pearson correlation of mouth opening at frame n with loudness at frame n - lag, for each lag
    /// in -maxLag...maxLag (frames without a face are left out).
    static func correlationByLag(openings: [Double?], loudness: [Double], maxLag: Int) -> [(lag: Int, r: Double)] {
        (-maxLag...maxLag).map { lag in
            var xs: [Double] = []
            var ys: [Double] = []
            for n in openings.indices {
                let m = n - lag
                guard m >= 0, m < loudness.count, let opening = openings[n] else { continue }
                xs.append(opening)
                ys.append(loudness[m])
            }
            return (lag, pearson(xs, ys))
        }
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
