import ArgumentParser
import Foundation
import MouthpieceCore
import Pipeline
import Speech

/// `mouthpiece say`: portrait + typed script -> MP4, spoken by Festival, Open JTalk or espeak-ng,
/// with captions.
struct SayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "say",
        abstract: "Make a portrait say a script (in 131 languages), with captions.",
        discussion: """
            English is spoken by Festival (an HTS voice), Japanese by Open JTalk, every other language \
            (and SSML markup) by espeak-ng; without those programs installed, espeak-ng speaks all. The \
            mouth follows the voice's phonemes and their exact times. Captions are written beside the \
            video (clip.srt and clip.vtt) unless --no-captions. `mouthpiece voices` lists the voices, \
            languages and variants.
            """)

    @Option(
        help: "What to say: plain text, or SSML starting with <speak> (break, emphasis, prosody, say-as, sub, p, s).")
    var text: String?

    @Option(name: .customLong("text-file"), help: "Read the script from a UTF-8 text file instead.")
    var textFile: String?

    @Option(help: "Language: en, en-us, es, de, fr, ja (kanji too), ar, cmn... (`mouthpiece voices`).")
    var language: String = Script.defaultLanguage

    @Option(
        help: """
            Voice: festival-slt (English, default), festival-kal, openjtalk-mei (Japanese, default), \
            espeak-ng, or an espeak-ng variant f1-f5, m1-m7, klatt, whisper... (`mouthpiece voices`).
            """)
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

/// `mouthpiece voices`: every voice (engine, languages, gender, quality tier, installed or not),
/// espeak-ng's languages and its voice variants: the list `GET /v1/voices` gives.
struct VoicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "voices", abstract: "List the voices, languages and voice variants `say` can use.")

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        try Terminal.run(json: json) {
            let listing = try Voices.listing()
            if json {
                try Terminal.printJSON(encoding: listing)
                return
            }
            print("Voices (--voice; without it a language gets its default, marked *):")
            for voice in listing.voices {
                let languages = voice.languages == ["*"] ? "every language below" : voice.languages.joined(separator: ", ")
                let marks = (voice.defaultFor.isEmpty ? " " : "*") + (voice.available ? "" : " (not installed)")
                print(
                    "\(marks) \(voice.id.padding(toLength: 14, withPad: " ", startingAt: 0)) "
                        + "\(voice.engine.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)) "
                        + "\(voice.gender.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) "
                        + "\(voice.tier.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(languages): "
                        + voice.description)
            }
            print("\(listing.languages.count) languages (--language):")
            for language in listing.languages {
                let aliases = language.aliases.isEmpty ? "" : "  (also \(language.aliases.joined(separator: ", ")))"
                print(
                    "  \(language.code.padding(toLength: 12, withPad: " ", startingAt: 0)) \(language.name)\(aliases)")
            }
            print(
                "\(listing.variants.count) espeak-ng voice variants (--voice): \(listing.variants.joined(separator: " "))")
        }
    }
}
