import Foundation
import Media
import Motion
import MouthpieceCore
import Speech

/// The lip-sync quality harness: speaks scripts with espeak-ng (so the phonemes and their times are
/// known), renders each portrait saying each, and measures every clip from its own pixels and sound
/// (`ClipEvaluation`), including whether the lips closed on the script's /p b m/. Each script is
/// rendered twice: from its audio alone (the audio path) and from its phonemes (`say`'s path), and
/// the two mouth tracks' agreement is measured on the same speech.
public struct LipSyncSuite: Sendable {
    public struct Sample: Sendable {
        public let language: String
        public let text: String

        public init(language: String, text: String) {
            self.language = language
            self.text = text
        }
    }

    /// Which path drove the mouth.
    public enum Path: String, Sendable { case audio, script }

    public struct Row: Sendable {
        public let portrait: String
        public let language: String
        public let path: Path
        public let evaluation: ClipEvaluation
        public let bilabials: (closed: Int, total: Int, medianShare: Double)
        /// Correlation of the two paths' mouth opening (jaw + lips) frame by frame, same speech.
        public let agreement: Double
    }

    public static let scripts = [
        Sample(
            language: "en",
            text: "Peter Piper picked a peck of pickled peppers. My mother baked a big apple pie, maybe by Monday."),
        Sample(language: "es", text: "Mi mamá me mima mucho. El perro de Pablo bebe agua, y baila bajo la lluvia."),
        Sample(language: "de", text: "Bitte bring mir morgen bunte Blumen mit. Papa bäckt Brot am Montag."),
        Sample(language: "ja", text: "パンをもっとください。ママはまいばんほんをよみます。"),
        Sample(language: "ar", text: "بابا يحب الموز. أمي تشرب الماء في المساء."),
    ]

    /// Pearson correlation of the opening (jaw + lip gap) of two mouth tracks, frame by frame, or
    /// averaged over `window` frames first (syllable scale: does one open when the other does).
    public static func agreement(_ a: [MouthShape], _ b: [MouthShape], window: Int = 1) -> Double {
        let n = min(a.count, b.count)
        guard n > 2 else { return 0 }
        func opening(_ track: [MouthShape]) -> [Double] {
            let raw = track.prefix(n).map { $0.jawOpen + $0.lipGap }
            guard window > 1 else { return raw }
            return raw.indices.map { i in
                let lo = max(0, i - window / 2)
                let hi = min(n, lo + window)
                return raw[lo..<hi].reduce(0, +) / Double(hi - lo)
            }
        }
        let r = ClipEvaluation.pearson(opening(a), opening(b))
        return r.isNaN ? 0 : r
    }

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
        for sample in Self.scripts {
            let script = Script(text: sample.text, language: sample.language)
            let spoken = try SpeechSynthesizer.speak(script)
            let audio = directory + "/speech-\(sample.language).wav"
            try AtomicFile.write(spoken.audio.wavBytes(), to: audio)
            let spans = spoken.phonemes.filter(\.isBilabial).map(\.closure)
            let tracks = RenderJob.mouthTracks(for: spoken, fps: options.fps)
            let agreement = Self.agreement(tracks.audio, tracks.script)
            for portrait in portraits {
                let name = URL(fileURLWithPath: portrait).deletingPathExtension().lastPathComponent
                for path in [Path.audio, .script] {
                    let output = directory + "/\(name)-\(sample.language)-\(path.rawValue).mp4"
                    var clipOptions = options
                    clipOptions.captionFiles = false
                    let sound: RenderJob.Sound = path == .audio ? .audio(path: audio) : .script(script)
                    _ = try RenderJob(imagePath: portrait, sound: sound, outputPath: output, options: clipOptions).run()
                    let evaluation = try ClipEvaluation.evaluate(video: output)
                    let row = Row(
                        portrait: name, language: sample.language, path: path, evaluation: evaluation,
                        bilabials: evaluation.closures(at: spans), agreement: agreement)
                    report(row)
                    rows.append(row)
                }
            }
        }
        return rows
    }
}
