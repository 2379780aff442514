import Foundation
import MouthpieceCore
import Speech

/// The sound of a job made ready: the audio file to read (a script is spoken first, into a
/// temporary WAV file that `cleanUp()` removes) and, for a script, its phonemes.
struct SpokenSound {
    let audioPath: String?
    let spoken: SpokenText?

    static func prepare(_ sound: RenderJob.Sound, maxSeconds: Double) throws -> SpokenSound {
        switch sound {
        case .audio(let path): return SpokenSound(audioPath: path, spoken: nil)
        case .silence: return SpokenSound(audioPath: nil, spoken: nil)
        case .script(let script):
            let speech = try SpeechSynthesizer.speak(script)
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
