import Foundation
import Media
import Motion
import MouthpieceCore
import Speech
import Voice

/// The sound of a job made ready: the audio file to read (a script is spoken first, into a
/// temporary WAV file that `cleanUp()` removes) and, for a script, its phonemes.
struct SpokenSound {
    let audioPath: String?
    let spoken: SpokenText?

    static func prepare(
        _ sound: RenderJob.Sound, maxSeconds: Double, speaker: ScriptSpeaker = .espeak
    ) throws -> SpokenSound {
        switch sound {
        case .audio(let path): return SpokenSound(audioPath: path, spoken: nil)
        case .silence: return SpokenSound(audioPath: nil, spoken: nil)
        case .script(let script):
            let speech = try speaker.speak(script)
            guard speech.audio.duration <= maxSeconds else {
                throw MouthpieceError(
                    .textTooLong,
                    "The script takes \(speech.audio.duration.formatted(0)) s to say; the limit is \(maxSeconds.formatted(0)) s.",
                    field: "text")
            }
            let wav = FileManager.default.temporaryDirectory.appendingPathComponent(
                "mouthpiece-speech-\(UUID().uuidString).wav"
            ).path
            try AtomicFile.write(speech.audio.wavBytes(), to: wav)
            return SpokenSound(audioPath: wav, spoken: speech)
        }
    }

    func cleanUp() {
        if spoken != nil, let audioPath { try? FileManager.default.removeItem(atPath: audioPath) }
    }
}

extension SpokenSound {
    /// The voice at `fps`: measured from the audio (streamed, never held whole), or for a job with
    /// no sound (`.silence(seconds)`) a silent voice of that length.
    func features(of sound: RenderJob.Sound, fps: Int, maxSeconds: Double) throws -> VoiceFeatures {
        if let audioPath {
            return try VoiceAnalyzer().analyze(
                path: audioPath, fps: fps, limits: AudioDecoder.Limits(maxDuration: maxSeconds))
        }
        guard case .silence(let seconds) = sound, seconds.isFinite, seconds >= 0.5, seconds <= maxSeconds else {
            throw MouthpieceError(
                .invalidParameter, "duration must be between 0.5 and \(maxSeconds.formatted(0)) seconds.",
                field: "duration")
        }
        return .silent(fps: fps, count: max(1, Int((seconds * Double(fps)).rounded())))
    }

    /// Mouth shapes for `features`: from a script's phonemes when there is one, else from the audio;
    /// the lips leading the sound by `lipLead` seconds.
    func mouthShapes(for features: VoiceFeatures, lipLead: Double) -> [MouthShape] {
        Self.mouthShapes(phones: spoken?.phonemes.map(\.span), for: features, lipLead: lipLead)
    }

    /// Mouth shapes for `features`: from `phones` (a script's) when given, else from the audio.
    static func mouthShapes(phones: [PhoneSpan]?, for features: VoiceFeatures, lipLead: Double) -> [MouthShape] {
        var mouthTrack = MouthShapeTrack()
        mouthTrack.lead = lipLead
        guard let phones else { return mouthTrack.shapes(for: features) }
        var phonemeTrack = PhonemeMouthTrack()
        phonemeTrack.base = mouthTrack
        return phonemeTrack.shapes(for: phones, frameCount: features.frames.count, fps: features.fps, voice: features)
    }
}
