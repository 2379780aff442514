import Foundation
import Media

/// Speech-like test audio made from scratch: voiced syllables (a buzz at a speaking pitch through
/// vowel formants, with syllable-rate loudness) and exact silences, written as 16-bit WAV.
public struct SyntheticSpeech {
    public enum Segment {
        case silence(Double)
        case speech(Double)
    }

    public let sampleRate: Int
    public let segments: [Segment]

    public init(sampleRate: Int = 22_050, segments: [Segment]) {
        self.sampleRate = sampleRate
        self.segments = segments
    }

    public var duration: Double {
        segments.reduce(0) { total, segment in
            switch segment {
            case .silence(let d), .speech(let d): return total + d
            }
        }
    }

    /// Time ranges (seconds) that are speech.
    public var speechRanges: [ClosedRange<Double>] {
        var t = 0.0
        var ranges: [ClosedRange<Double>] = []
        for segment in segments {
            switch segment {
            case .silence(let d): t += d
            case .speech(let d):
                ranges.append(t...(t + d))
                t += d
            }
        }
        return ranges
    }

    public func samples() -> [Float] {
        var out: [Float] = []
        let rate = Double(sampleRate)
        // Vowels cycle a, e, o, i: (F1, F2) pairs.
        let vowels: [(Double, Double)] = [(750, 1200), (500, 1800), (450, 850), (300, 2300)]
        var phase = 0.0
        for segment in segments {
            switch segment {
            case .silence(let d):
                out += [Float](repeating: 0, count: Int(d * rate))
            case .speech(let d):
                let count = Int(d * rate)
                let syllable = 0.22
                for i in 0..<count {
                    let t = Double(i) / rate
                    let index = Int(t / syllable)
                    let (f1, f2) = vowels[index % vowels.count]
                    let within = (t - Double(index) * syllable) / syllable
                    // Each syllable swells and fades; a short dip between syllables.
                    let envelope = pow(sin(Double.pi * min(1, within * 1.15)), 0.8)
                    let pitch = 120 + 15 * sin(2 * Double.pi * 0.7 * t)
                    phase += 2 * Double.pi * pitch / rate
                    var v = 0.0
                    var h = 1
                    while Double(h) * pitch < 4000 {
                        let f = Double(h) * pitch
                        let gain =
                            1 / (1 + pow((f - f1) / 90, 2)) + 0.6 / (1 + pow((f - f2) / 120, 2)) + 0.02
                        v += gain * sin(Double(h) * phase) / Double(h).squareRoot()
                        h += 1
                    }
                    out.append(Float(0.25 * envelope * v))
                }
            }
        }
        let peak = out.map { abs($0) }.max() ?? 1
        return peak > 0 ? out.map { $0 / peak * 0.7 } : out
    }

    /// Writes a 16-bit mono WAV file.
    public func writeWAV(to path: String) throws {
        try Data(AudioClip(sampleRate: sampleRate, samples: samples()).wavBytes()).write(to: URL(fileURLWithPath: path))
    }
}
