import Foundation
import Media

/// Measures the voice frame by frame: `AudioClip -> VoiceFeatures`.
///
/// Language-free: only loudness and the spectrum's shape are used.
public struct VoiceAnalyzer: Sendable {
    /// Analysis window length in seconds (about two pitch periods of a low voice, and more).
    public var window = 0.032

    public init() {}

    /// Features at the instants `n / fps` for `frameCount` frames.
    public func analyze(_ clip: AudioClip, fps: Int, frameCount: Int) -> VoiceFeatures {
        let rate = Double(clip.sampleRate)
        var size = 16
        while Double(size) < window * rate { size *= 2 }
        let spectrum = Spectrum(size: size)
        var bins = [Float](repeating: 0, count: size / 2 + 1)
        let binHz = rate / Double(size)
        func bin(_ hz: Double) -> Int { min(size / 2, max(0, Int(hz / binHz))) }
        let (low0, low1) = (bin(200), bin(900))
        let (mid0, mid1) = (bin(900), bin(2500))
        let (high0, high1) = (bin(3000), bin(min(8000, rate / 2)))
        var frames: [VoiceFrame] = []
        frames.reserveCapacity(frameCount)
        clip.samples.withUnsafeBufferPointer { samples in
            for n in 0..<frameCount {
                let center = Int((Double(n) / Double(fps)) * rate)
                let start = center - size / 2
                // Loudness over the same window, unwindowed, so that level means level.
                var energy = 0.0
                var counted = 0
                for j in max(0, start)..<min(samples.count, start + size) {
                    energy += Double(samples[j] * samples[j])
                    counted += 1
                }
                let rms = counted > 0 ? (energy / Double(counted)).squareRoot() : 0
                let loudness = rms > 1e-5 ? 20 * log10(rms) : -100
                spectrum.power(of: samples, start: start, into: &bins)
                var total = 0.0
                var weighted = 0.0
                for k in bin(80)...bin(min(8000, rate / 2)) {
                    total += Double(bins[k])
                    weighted += Double(bins[k]) * Double(k) * binHz
                }
                func share(_ a: Int, _ b: Int) -> Double {
                    guard total > 0, b > a else { return 0 }
                    var sum = 0.0
                    for k in a..<b { sum += Double(bins[k]) }
                    return sum / total
                }
                frames.append(
                    VoiceFrame(
                        loudness: loudness, lowBand: share(low0, low1), midBand: share(mid0, mid1),
                        highBand: share(high0, high1), centroid: total > 0 ? weighted / total : 0))
            }
        }
        return VoiceFeatures(fps: fps, frames: frames)
    }
}
