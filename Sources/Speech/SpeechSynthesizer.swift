import CEspeak
import Foundation
import Media
import MouthpieceCore

/// One phoneme of synthesised speech: its IPA name and when it sounds, in seconds.
public struct Phoneme: Equatable, Sendable {
    public let symbol: String
    public let start: Double
    public let end: Double

    /// /p/, /b/ or /m/ (with any diacritic): the lips must close.
    public var isBilabial: Bool { ["p", "b", "m"].contains(symbol.unicodeScalars.first.map(Character.init)) }

    /// When the lips are shut for this phoneme: a nasal's whole span; for a stop, the silence
    /// before its burst, which espeak-ng reports as the phoneme's start (measured: the closure
    /// is the 40-70 ms before the event).
    public var closure: ClosedRange<Double> {
        symbol.hasPrefix("m") ? start...end : max(0, start - 0.07)...(start + 0.01)
    }
}

/// Speech synthesised from text, with the phonemes' timings.
public struct SpokenText: Sendable {
    public let audio: AudioClip
    public let phonemes: [Phoneme]
}

/// Text -> speech through espeak-ng's C library: the one wrapper around it.
///
/// espeak-ng keeps global state, so every call holds one process-wide lock; callers that must not
/// block (a server's event loop) run it on a thread of their own.
public enum SpeechSynthesizer {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var sampleRate: Int32 = 0

    /// Speaks `text` with espeak-ng voice `voice` (a language code such as "en", "es", "de").
    public static func speak(_ text: String, voice: String = "en") throws -> SpokenText {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else {
            throw MouthpieceError(.invalidParameter, "The text is empty.", field: "text")
        }
        lock.lock()
        defer { lock.unlock() }
        if sampleRate == 0 {
            // Synchronous output, phoneme events named in IPA.
            let options = Int32(espeakINITIALIZE_PHONEME_EVENTS) | 0x0002
            let rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nil, options)
            guard rate > 0 else {
                throw MouthpieceError(.internalError, "espeak-ng could not start (is espeak-ng-data installed?).")
            }
            sampleRate = rate
            espeak_SetSynthCallback { wave, count, events in
                guard let events, let context = events.pointee.user_data else { return 0 }
                let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
                if let wave, count > 0 {
                    sink.samples.append(
                        contentsOf: UnsafeBufferPointer(start: wave, count: Int(count)).map { Float($0) / 32768 })
                }
                var event = events
                while event.pointee.type != espeakEVENT_LIST_TERMINATED {
                    if event.pointee.type == espeakEVENT_PHONEME {
                        let name = withUnsafeBytes(of: event.pointee.id.string) { raw in
                            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                        }
                        sink.events.append((name, Double(event.pointee.audio_position) / 1000))
                    }
                    event += 1
                }
                return 0
            }
        }
        guard espeak_SetVoiceByName(voice) == EE_OK else {
            throw MouthpieceError(.invalidParameter, "espeak-ng has no voice \"\(voice)\".", field: "language")
        }
        let sink = Sink()
        let context = Unmanaged.passRetained(sink)
        defer { context.release() }
        let status = trimmed.withCString { chars in
            espeak_Synth(
                chars, strlen(chars) + 1, 0, POS_CHARACTER, 0, UInt32(espeakCHARS_UTF8), nil, context.toOpaque())
        }
        guard status == EE_OK else {
            throw MouthpieceError(.internalError, "espeak-ng could not synthesise the text (error \(status.rawValue)).")
        }
        let duration = Double(sink.samples.count) / Double(sampleRate)
        // Each phoneme lasts until the next begins; pauses ("_") are not phonemes.
        var phonemes: [Phoneme] = []
        for (k, (name, start)) in sink.events.enumerated() where !name.isEmpty && !name.hasPrefix("_") {
            let end = k + 1 < sink.events.count ? sink.events[k + 1].1 : duration
            phonemes.append(Phoneme(symbol: name, start: start, end: max(start, end)))
        }
        return SpokenText(audio: AudioClip(sampleRate: Int(sampleRate), samples: sink.samples), phonemes: phonemes)
    }

    private final class Sink {
        var samples: [Float] = []
        var events: [(String, Double)] = []
    }
}
