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

    @OptionGroup var script: ScriptOptions

    @Flag(name: .customLong("no-captions"), help: "Do not write .srt and .vtt captions beside the video.")
    var noCaptions = false

    @Flag(name: .customLong("burn-captions"), help: "Also draw the captions into the frames.")
    var burnCaptions = false

    @OptionGroup var clip: ClipOptions

    func run() throws {
        try Terminal.run(json: clip.json) {
            let request = try script.script()
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
                let languages =
                    voice.languages == ["*"] ? "every language below" : voice.languages.joined(separator: ", ")
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
                "\(listing.variants.count) espeak-ng voice variants (--voice): \(listing.variants.joined(separator: " "))"
            )
        }
    }
}

/// What to say and in which voice: the options `say` and `speak` share.
struct ScriptOptions: ParsableArguments {
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

    @Option(
        help: ArgumentHelp(
            "A pronunciation lexicon: a JSON object of word -> respelling ({\"Nguyen\": \"win\"}).",
            discussion: "Whole words, any case; every voice says the respelling, captions show the word."))
    var lexicon: String?

    /// The script the options name (the text read from --text-file when given), checked.
    func script() throws -> Script {
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
        var request = Script(text: script, language: language, voice: voice, rate: rate, pitch: pitch)
        if let lexicon {
            guard let data = FileManager.default.contents(atPath: lexicon) else {
                throw MouthpieceError(.inputNotFound, "No lexicon file at \(lexicon).", field: "lexicon")
            }
            guard let entries = try? JSONDecoder().decode([String: String].self, from: data) else {
                throw MouthpieceError(
                    .invalidParameter, "\(lexicon) is not a JSON object of word -> respelling.", field: "lexicon")
            }
            request.lexicon = entries
        }
        try request.validate()
        return request
    }
}

/// `mouthpiece speak`: a script to a WAV file, and with --json the voice, every phoneme and every
/// word with its time (what the mouth and the captions follow).
struct SpeakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speak", abstract: "Speak a script to a WAV file, with its phonemes' and words' times.")

    @OptionGroup var script: ScriptOptions

    @Option(name: .shortAndLong, help: "Output WAV path.")
    var output: String

    @Flag(help: "Print the voice, phonemes and words as JSON.")
    var json = false

    func run() throws {
        try Terminal.run(json: json) {
            let spoken = try SpeechSynthesizer.speak(try script.script())
            try AtomicFile.write(spoken.audio.wavBytes(), to: output)
            let summary = SpeakSummary(
                output: output, voice: spoken.voice, seconds: spoken.audio.duration,
                phonemes: spoken.phonemes.map { .init(symbol: $0.symbol, start: $0.start, end: $0.end) },
                words: spoken.words.map { .init(text: $0.text, start: $0.start, end: $0.end) })
            if json { return try Terminal.printJSON(encoding: summary) }
            print(
                "\(output): \(spoken.audio.duration.formatted(2)) s by \(spoken.voice), "
                    + "\(spoken.words.count) words, \(spoken.phonemes.count) phonemes")
        }
    }

    struct SpeakSummary: Encodable {
        struct Timed: Encodable {
            let symbol: String?
            let text: String?
            let start: Double
            let end: Double
            init(symbol: String? = nil, text: String? = nil, start: Double, end: Double) {
                (self.symbol, self.text, self.start, self.end) = (symbol, text, start, end)
            }
        }
        let output: String
        let voice: String
        let seconds: Double
        let phonemes: [Timed]
        let words: [Timed]
    }
}
