import Foundation
import Media
import MouthpieceCore
import Speech

/// The lip-sync quality harness: speaks scripts with espeak-ng (so the phonemes and their times are
/// known), renders each portrait saying each, and measures every clip from its own pixels and sound
/// (`ClipEvaluation`), including whether the lips closed on the script's /p b m/.
public struct LipSyncSuite: Sendable {
    public struct Script: Sendable {
        public let language: String
        public let text: String
    }

    public struct Row: Sendable {
        public let portrait: String
        public let language: String
        public let evaluation: ClipEvaluation
        public let bilabials: (closed: Int, total: Int, medianShare: Double)
    }

    public static let scripts = [
        Script(
            language: "en",
            text: "Peter Piper picked a peck of pickled peppers. My mother baked a big apple pie, maybe by Monday."),
        Script(language: "es", text: "Mi mamá me mima mucho. El perro de Pablo bebe agua, y baila bajo la lluvia."),
        Script(language: "de", text: "Bitte bring mir morgen bunte Blumen mit. Papa bäckt Brot am Montag."),
    ]

    public let portraits: [String]
    public let directory: String
    public var options = RenderOptions()

    public init(portraits: [String], directory: String) {
        self.portraits = portraits
        self.directory = directory
        options.resolution = .p720
        options.fps = 25
    }

    /// Runs every portrait with every script; `report` sees each row as it is measured.
    public func run(report: (Row) -> Void = { _ in }) throws -> [Row] {
        var rows: [Row] = []
        for script in Self.scripts {
            let spoken = try SpeechSynthesizer.speak(script.text, voice: script.language)
            let audio = directory + "/speech-\(script.language).wav"
            try AtomicFile.write(spoken.audio.wavBytes(), to: audio)
            let spans = spoken.phonemes.filter(\.isBilabial).map(\.closure)
            for portrait in portraits {
                let name = URL(fileURLWithPath: portrait).deletingPathExtension().lastPathComponent
                let output = directory + "/\(name)-\(script.language).mp4"
                _ = try RenderJob(imagePath: portrait, audioPath: audio, outputPath: output, options: options).run()
                let evaluation = try ClipEvaluation.evaluate(video: output)
                let row = Row(
                    portrait: name, language: script.language, evaluation: evaluation,
                    bilabials: evaluation.closures(at: spans))
                report(row)
                rows.append(row)
            }
        }
        return rows
    }
}
