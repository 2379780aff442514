import Foundation
import MouthpieceCore
import Speech

/// `mouthpiece bench --voices`: every installed voice speaks the same paragraph in its language
/// (`--runs` times each, after espeak-ng's voice of that language as the reference), timed from the script
/// to the samples and their phone times, process start included for the engines run as programs.
/// The real-time factor is synthesis time over speech length (under 1: faster than it is spoken).
extension BenchCommand {
    static let benchTexts: [String: String] = [
        "en-us": """
        The quick brown fox jumps over the lazy dog. Please bring me my coffee, my book and my umbrella \
        by five o'clock. A large size in stockings is hard to sell, but the juice of lemons makes fine \
        punch, and the birch canoe slid on the smooth planks.
        """,
        "ja": "よろしくお願いします。今日は東京の天気についてお話しします。午後から雨が降りますので、傘を持って出かけてください。",
    ]

    func runVoices() throws {
        try Terminal.run(json: json) {
            let listing = try Voices.listing()
            var rows: [VoiceRow] = []
            for (language, text) in Self.benchTexts.sorted(by: { $0.key < $1.key }) {
                let candidates = listing.voices.filter { $0.available && $0.languages.contains(language) }
                let reference = try measure(Script(text: text, language: language, voice: Voices.espeakDefault))
                for voice in candidates {
                    let figures = try measure(Script(text: text, language: language, voice: voice.id))
                    rows.append(
                        VoiceRow(
                            voice: voice.id, engine: voice.engine.rawValue, language: language,
                            isDefault: voice.defaultFor.contains(language), speechSeconds: figures.speech,
                            synthesisSeconds: figures.wall, realTimeFactor: figures.wall / figures.speech,
                            ratioToEspeak: (figures.wall / figures.speech) / (reference.wall / reference.speech)))
                }
                rows.append(
                    VoiceRow(
                        voice: Voices.espeakDefault, engine: SpeechEngine.espeakNG.rawValue, language: language,
                        isDefault: !candidates.contains { $0.defaultFor.contains(language) },
                        speechSeconds: reference.speech, synthesisSeconds: reference.wall,
                        realTimeFactor: reference.wall / reference.speech, ratioToEspeak: 1))
            }
            if json {
                try Terminal.printJSON(encoding: VoiceFigures(voices: rows, runs: runs))
                return
            }
            print("voices, medians of \(runs) runs (\(ProcessInfo.processInfo.activeProcessorCount) cores):")
            for row in rows {
                print(
                    "  \(row.isDefault ? "*" : " ") \(row.language.padding(toLength: 6, withPad: " ", startingAt: 0))"
                        + "\(row.voice.padding(toLength: 14, withPad: " ", startingAt: 0))"
                        + "\(row.speechSeconds.formatted(2)) s of speech in \(row.synthesisSeconds.formatted(3)) s: "
                        + "real-time factor \(row.realTimeFactor.formatted(3)) (\(row.ratioToEspeak.formatted(2))x espeak-ng's)"
                )
            }
            print("  * the language's default voice")
        }
    }

    /// The median synthesis time of `script` and its speech's length.
    func measure(_ script: Script) throws -> (wall: Double, speech: Double) {
        var times: [Double] = []
        var speech = 0.0
        for _ in 0..<runs {
            let start = ContinuousClock.now
            let spoken = try SpeechSynthesizer.speak(script)
            times.append((ContinuousClock.now - start).inSeconds)
            speech = spoken.audio.duration
        }
        return (times.sorted()[times.count / 2], speech)
    }

    /// One voice's figures.
    struct VoiceRow: Encodable {
        let voice: String
        let engine: String
        let language: String
        let isDefault: Bool
        let speechSeconds: Double
        let synthesisSeconds: Double
        let realTimeFactor: Double
        let ratioToEspeak: Double

        enum CodingKeys: String, CodingKey {
            case voice, engine, language
            case isDefault = "default"
            case speechSeconds = "speech_seconds"
            case synthesisSeconds = "synthesis_seconds"
            case realTimeFactor = "real_time_factor"
            case ratioToEspeak = "ratio_to_espeak"
        }
    }

    /// What `--voices --json` prints.
    struct VoiceFigures: Encodable {
        let voices: [VoiceRow]
        let runs: Int
    }
}
