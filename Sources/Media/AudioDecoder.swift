import CFFmpeg
import Foundation
import MouthpieceCore

/// Mono floating-point samples at a known rate: what voice analysis reads.
public struct AudioClip: Sendable {
    public let sampleRate: Int
    public var samples: [Float]

    public init(sampleRate: Int, samples: [Float]) {
        self.sampleRate = sampleRate
        self.samples = samples
    }

    public var duration: Double { Double(samples.count) / Double(sampleRate) }
}

/// What an audio file holds, read from its headers.
public struct AudioSourceInfo: Sendable {
    public let codec: String
    public let sampleRate: Int
    public let channels: Int
    /// From the container; nil where the container does not say.
    public let declaredDuration: Double?
}

/// Decodes MP3, WAV, M4A/AAC, OGG (Vorbis, Opus), FLAC and WebM audio, found by content, to mono
/// float PCM at a chosen rate.
public enum AudioDecoder {
    /// Limits on what is accepted; the defaults are the product's.
    public struct Limits: Sendable {
        public var minDuration: Double
        public var maxDuration: Double

        public init(minDuration: Double = 0.5, maxDuration: Double = 30 * 60) {
            self.minDuration = minDuration
            self.maxDuration = maxDuration
        }
    }

    /// Decodes the whole file to mono at `sampleRate`, checking the duration limits.
    public static func decode(path: String, sampleRate: Int = 16_000, limits: Limits = Limits()) throws -> AudioClip {
        let reader = try AudioReader(path: path, sampleRate: sampleRate, channels: 1, limits: limits)
        var samples: [Float] = []
        while let chunk = try reader.next() { samples.append(contentsOf: chunk) }
        try checkDuration(Double(samples.count) / Double(sampleRate), limits: limits)
        return AudioClip(sampleRate: sampleRate, samples: samples)
    }

    /// Reads the whole file once, keeping nothing: the errors a render would meet (not audio,
    /// damaged, samples that are not sound, too short or too long), found before it is queued.
    @discardableResult
    public static func validate(path: String, limits: Limits = Limits()) throws -> Double {
        let reader = try AudioReader(path: path, sampleRate: 8_000, channels: 1, limits: limits)
        var count = 0
        while let chunk = try reader.next() { count += chunk.count }
        try checkDuration(Double(count) / 8_000, limits: limits)
        return Double(count) / 8_000
    }

    /// Throws `audio_too_short` or `audio_too_long` when `duration` is outside the limits.
    public static func checkDuration(_ duration: Double, limits: Limits) throws {
        if duration < limits.minDuration {
            throw MouthpieceError(
                .audioTooShort,
                "The audio lasts \(duration.formatted(2)) s; at least \(limits.minDuration.formatted(1)) s is needed.",
                field: "audio")
        }
        if duration > limits.maxDuration { throw tooLong(duration, limits) }
    }

    static func tooLong(_ duration: Double, _ limits: Limits) -> MouthpieceError {
        MouthpieceError(
            .audioTooLong,
            "The audio lasts \(duration.formatted(0)) s; the limit is \(limits.maxDuration.formatted(0)) s.",
            field: "audio")
    }
}
