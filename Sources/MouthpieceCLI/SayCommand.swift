import ArgumentParser
import Foundation
import MouthpieceCore
import Pipeline
import Speech

/// `mouthpiece say`: portrait + typed script -> MP4, spoken by espeak-ng, with captions.
struct SayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "say",
        abstract: "Make a portrait say a script (speech by espeak-ng, in any of its languages), with captions.",
        discussion: """
            The mouth follows espeak-ng's phonemes and their exact times. Captions are written beside \
            the video (clip.srt and clip.vtt) unless --no-captions. `mouthpiece voices` lists the \
            languages and voice variants.
            """)

    @Option(
        help: "What to say: plain text, or SSML starting with <speak> (break, emphasis, prosody, say-as, sub, p, s).")
    var text: String?

    @Option(name: .customLong("text-file"), help: "Read the script from a UTF-8 text file instead.")
    var textFile: String?

    @Option(help: "espeak-ng language: en, en-us, es, de, fr, ja (kanji too), ar, cmn... (`mouthpiece voices`).")
    var language: String = Script.defaultLanguage

    @Option(help: "Voice variant: f1-f5, m1-m7, klatt, whisper... (see `mouthpiece voices`).")
    var voice: String?

    @Option(help: "Speaking rate in words per minute, 80 to 450.")
    var rate: Int = Script.defaultRate

    @Option(help: "Pitch, 0 to 100 (50 is the voice's own).")
    var pitch: Int = Script.defaultPitch

    @Flag(name: .customLong("no-captions"), help: "Do not write .srt and .vtt captions beside the video.")
    var noCaptions = false

    @Flag(name: .customLong("burn-captions"), help: "Also draw the captions into the frames.")
    var burnCaptions = false

    @OptionGroup var clip: ClipOptions

    func run() throws {
        try Terminal.run(json: clip.json) {
            let script: String
            switch (text, textFile) {
            case (let text?, nil): script = text
            case (nil, let path?):
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw MouthpieceError(.inputNotFound, "No text file at \(path).", field: "text_file")
                }
                guard let decoded = String(data: data, encoding: .utf8) else {
                    throw MouthpieceError(.invalidParameter, "\(path) is not UTF-8 text.", field: "text_file")
                }
                script = decoded
            default:
                throw MouthpieceError(.invalidParameter, "Give either --text or --text-file.", field: "text")
            }
            let request = Script(text: script, language: language, voice: voice, rate: rate, pitch: pitch)
            try request.validate()
            try clip.run(.script(request)) { options in
                options.captionFiles = !noCaptions
                options.burnCaptions = burnCaptions
            }
        }
    }
}

/// `mouthpiece voices`: espeak-ng's languages and voice variants.
struct VoicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "voices", abstract: "List the languages and voice variants `say` can use.")

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        try Terminal.run(json: json) {
            let languages = try SpeechSynthesizer.languages()
            let variants = try SpeechSynthesizer.variants()
            if json {
                Terminal.printJSON([
                    "languages": languages.map { ["code": $0.code, "name": $0.name, "aliases": $0.aliases] },
                    "variants": variants,
                ])
                return
            }
            print("\(languages.count) languages (--language):")
            for language in languages {
                let aliases = language.aliases.isEmpty ? "" : "  (also \(language.aliases.joined(separator: ", ")))"
                print(
                    "  \(language.code.padding(toLength: 12, withPad: " ", startingAt: 0)) \(language.name)\(aliases)")
            }
            print("\(variants.count) voice variants (--voice): \(variants.joined(separator: " "))")
        }
    }
}
