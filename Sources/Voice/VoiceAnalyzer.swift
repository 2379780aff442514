import Foundation
import Media
import MouthpieceCore

/// Measures the voice frame by frame: audio -> `VoiceFeatures`.
///
/// Language-free: only loudness and the spectrum's shape are used.
public struct VoiceAnalyzer: Sendable {
    /// Analysis window length in seconds (about two pitch periods of a low voice, and more).
    public var window = 0.032
    /// The rate audio is analysed at.
    public static let sampleRate = 16_000

    public init() {}

    /// Features at the instants `n / fps` for `frameCount` frames of a clip held in memory.
    public func analyze(_ clip: AudioClip, fps: Int, frameCount: Int) -> VoiceFeatures {
        let measurer = FrameMeasurer(sampleRate: clip.sampleRate, window: window)
        var frames: [VoiceFrame] = []
        frames.reserveCapacity(frameCount)
        clip.samples.withUnsafeBufferPointer { samples in
            for n in 0..<frameCount {
                frames.append(measurer.measure(samples, start: measurer.windowStart(frame: n, fps: fps)))
            }
        }
        return VoiceFeatures(fps: fps, frames: frames)
    }

    /// Streams an audio file through the analysis, holding only about a second of samples at a
    /// time, so that memory stays flat however long the audio is. The frame count follows from
    /// the decoded duration (rounded to whole frames).
    public func analyze(path: String, fps: Int, limits: AudioDecoder.Limits = .init()) throws -> VoiceFeatures {
        let reader = try AudioReader(path: path, sampleRate: Self.sampleRate, channels: 1, limits: limits)
        let stream = VoiceStream(fps: fps, analyzer: self)
        var frames: [VoiceFrame] = []
        while let chunk = try reader.next() { frames += stream.append(chunk) }
        try AudioDecoder.checkDuration(Double(stream.samplesReceived) / Double(Self.sampleRate), limits: limits)
        frames += stream.finish()
        // The count follows from the decoded duration: frames measured past it are let go.
        let count = Self.frameCount(samples: stream.samplesReceived, fps: fps)
        if frames.count > count { frames.removeLast(frames.count - count) }
        return VoiceFeatures(fps: fps, frames: frames)
    }

    /// Frames in a clip of `samples` analysis samples: the duration rounded to whole frames.
    static func frameCount(samples: Int, fps: Int) -> Int {
        max(1, Int((Double(samples) / Double(sampleRate) * Double(fps)).rounded()))
    }
}

/// One window's measurements; owns its FFT.
final class FrameMeasurer {
    let size: Int
    let rate: Double
    private let spectrum: Spectrum
    private var bins: [Float]
    private let binHz: Double
    private let bass: (Int, Int), low: (Int, Int), mid: (Int, Int), high: (Int, Int), all: (Int, Int)

    init(sampleRate: Int, window: Double) {
        rate = Double(sampleRate)
        var size = 16
        while Double(size) < window * rate { size *= 2 }
        self.size = size
        spectrum = Spectrum(size: size)
        bins = [Float](repeating: 0, count: size / 2 + 1)
        let binHz = rate / Double(size)
        self.binHz = binHz
        func bin(_ hz: Double) -> Int { min(size / 2, max(0, Int(hz / binHz))) }
        bass = (bin(80), bin(250))
        low = (bin(200), bin(900))
        mid = (bin(900), bin(2500))
        high = (bin(3000), bin(min(8000, rate / 2)))
        all = (bin(80), bin(min(8000, rate / 2)))
    }

    /// Absolute index of the first sample of frame `n`'s window (centred on `n / fps`).
    func windowStart(frame n: Int, fps: Int) -> Int { Int((Double(n) / Double(fps)) * rate) - size / 2 }

    /// Features of `samples[start ..< start + size]`, zero outside the buffer.
    func measure(_ samples: UnsafeBufferPointer<Float>, start: Int) -> VoiceFrame {
        // Loudness over the same window, unwindowed, so that level means level.
        var energy = 0.0
        var counted = 0
        for j in max(0, start)..<max(max(0, start), min(samples.count, start + size)) {
            energy += Double(samples[j] * samples[j])
            counted += 1
        }
        let rms = counted > 0 ? (energy / Double(size)).squareRoot() : 0
        let loudness = rms > 1e-5 ? 20 * log10(rms) : -100
        spectrum.power(of: samples, start: start, into: &bins)
        var total = 0.0
        var weighted = 0.0
        for k in all.0...all.1 {
            total += Double(bins[k])
            weighted += Double(bins[k]) * Double(k) * binHz
        }
        func share(_ band: (Int, Int)) -> Double {
            guard total > 0, band.1 > band.0 else { return 0 }
            var sum = 0.0
            for k in band.0..<band.1 { sum += Double(bins[k]) }
            return sum / total
        }
        // Formants only where there is a voice to resonate.
        let formants = loudness > -60 ? Formants.estimate(power: bins, sampleRate: rate) : (f1: 0, f2: 0)
        return VoiceFrame(
            loudness: loudness, lowBand: share(low), midBand: share(mid), highBand: share(high),
            centroid: total > 0 ? weighted / total : 0, f1: formants.f1, f2: formants.f2, bassBand: share(bass))
    }
}
