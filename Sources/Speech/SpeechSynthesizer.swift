import CEspeak
import Foundation
import Media
import MouthpieceCore

/// One phoneme of synthesised speech: its IPA name and when it sounds, in seconds.
public struct Phoneme: Equatable, Sendable {
    public let symbol: String
    public let start: Double
    public let end: Double
    /// When the lips are shut, where the engine's phone spans include the closure (Festival's,
    /// Open JTalk's); nil for espeak-ng's, whose stops start at the burst.
    let shut: ClosedRange<Double>?

    public init(symbol: String, start: Double, end: Double, closure: ClosedRange<Double>? = nil) {
        self.symbol = symbol
        self.start = start
        self.end = end
        self.shut = closure
    }

    /// The same phoneme `seconds` later.
    func shifted(by seconds: Double) -> Phoneme {
        Phoneme(
            symbol: symbol, start: start + seconds, end: end + seconds,
            closure: shut.map { ($0.lowerBound + seconds)...($0.upperBound + seconds) })
    }

    /// /p/, /b/ or /m/ (with any diacritic): the lips must close.
    public var isBilabial: Bool { ["p", "b", "m"].contains(symbol.unicodeScalars.first.map(Character.init)) }

    /// When the lips are shut for this phoneme: a nasal's whole span; for a stop, the silence
    /// before its burst, which espeak-ng reports as the phoneme's start (measured: the closure
    /// is the 40-70 ms before the event).
    public var closure: ClosedRange<Double> {
        if let shut { return shut }
        return symbol.hasPrefix("m") ? start...end : max(0, start - 0.07)...(start + 0.01)
    }
}

/// One word of the script and when it is spoken, in seconds.
public struct SpokenWord: Equatable, Sendable {
    /// The word as written, with the punctuation and space after it up to the next word (so the
    /// words joined give back the script).
    public let text: String
    public let start: Double
    public let end: Double

    public init(text: String, start: Double, end: Double) {
        self.text = text
        self.start = start
        self.end = end
    }

    /// The words with any that are only space (an engine's word inside a rewritten date or amount,
    /// mapped to its end) joined to the word before: it is the end of that word's sound.
    static func joiningBlanks(_ words: [SpokenWord]) -> [SpokenWord] {
        var out: [SpokenWord] = []
        for word in words {
            if let last = out.last, word.text.allSatisfy(\.isWhitespace) {
                out[out.count - 1] = SpokenWord(
                    text: last.text + word.text, start: last.start, end: max(last.end, word.end))
            } else {
                out.append(word)
            }
        }
        return out
    }
}

/// Speech synthesised from text, with the phonemes' and words' timings.
public struct SpokenText: Sendable {
    public let audio: AudioClip
    public let phonemes: [Phoneme]
    public let words: [SpokenWord]
    /// The voice that spoke: a `SpeechVoice` id ("festival-slt"), or espeak-ng's ("espeak-ng", "espeak-ng+f3").
    public let voice: String

    public init(audio: AudioClip, phonemes: [Phoneme], words: [SpokenWord], voice: String) {
        self.audio = audio
        self.phonemes = phonemes
        self.words = words
        self.voice = voice
    }
}

/// What to say and how: the text, an espeak-ng language ("en-us", "es", "ja"...), optionally a
/// voice variant ("f3", "m2", "klatt", "whisper"...), a rate in words per minute and a pitch.
public struct Script: Equatable, Sendable {
    public var text: String
    public var language: String
    public var voice: String?
    /// Words per minute, 80...450 (espeak-ng's default is 175).
    public var rate: Int
    /// 0...100 (50 is the voice's own).
    public var pitch: Int
    /// Pronunciations: a word or name (matched whole, in any case) -> what to say instead, a
    /// respelling ("Nguyen" -> "win"). Applied by every engine to plain text; words and captions
    /// keep the word as written.
    public var lexicon: [String: String] = [:]

    public static let maxCharacters = 5000
    public static let rates = 80...450
    public static let pitches = 0...100

    /// The defaults of every way in (command line, API, compatibility faces): one place.
    public static let defaultLanguage = "en-us"
    public static let defaultRate = 160
    public static let defaultPitch = 50

    public init(
        text: String, language: String = Script.defaultLanguage, voice: String? = nil, rate: Int = Script.defaultRate,
        pitch: Int = Script.defaultPitch
    ) {
        self.text = text
        self.language = language
        self.voice = voice
        self.rate = rate
        self.pitch = pitch
    }

    public static let maxLexiconEntries = 1000

    /// A lexicon: at most 1000 entries, each word and respelling 1-100 characters, no markup.
    public static func validate(lexicon: [String: String]) throws {
        guard lexicon.count <= maxLexiconEntries else {
            throw MouthpieceError(
                .invalidParameter, "A lexicon holds at most \(maxLexiconEntries) entries.", field: "lexicon")
        }
        for (word, respelling) in lexicon {
            let trimmed = word.trimmingCharacters(in: .whitespacesAndNewlines)
            guard (1...100).contains(trimmed.count), trimmed == word, (1...100).contains(respelling.count),
                !(word + respelling).contains(where: { "<>&".contains($0) })
            else {
                throw MouthpieceError(
                    .invalidParameter,
                    "Lexicon entry \"\(word.prefix(40))\": a word and its respelling, 1-100 characters each, without spaces around or < > &.",
                    field: "lexicon")
            }
        }
    }

    /// Refuses what espeak-ng would not say well: empty or over-long text, rate or pitch out of range.
    public func validate() throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw MouthpieceError(.emptyText, "The script's text is empty.", field: "text") }
        guard trimmed.count <= Self.maxCharacters else {
            throw MouthpieceError(
                .textTooLong,
                "The script is \(trimmed.count) characters; the limit is \(Self.maxCharacters). Split it into several videos.",
                field: "text")
        }
        guard Self.rates.contains(rate) else {
            throw MouthpieceError(
                .invalidParameter, "rate must be \(Self.rates.lowerBound)-\(Self.rates.upperBound) words per minute.",
                field: "rate")
        }
        guard Self.pitches.contains(pitch) else {
            throw MouthpieceError(.invalidParameter, "pitch must be 0-100.", field: "pitch")
        }
        try Self.validate(lexicon: lexicon)
    }
}

/// A language espeak-ng speaks.
public struct SpeechLanguage: Equatable, Sendable, Encodable {
    /// The code to ask for it by ("en-us", "es", "cmn").
    public let code: String
    /// espeak-ng's name ("English_(America)").
    public let name: String
    /// Other codes that reach it ("en").
    public let aliases: [String]
}

/// Text -> speech through espeak-ng's C library: the one wrapper around it.
///
/// espeak-ng keeps global state, so every call holds one process-wide lock; callers that must not
/// block (a server's event loop) run it on a thread of their own.
public enum SpeechSynthesizer {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var sampleRate: Int32 = 0

    /// Speaks `text` in espeak-ng language `voice` with default rate and pitch.
    public static func speak(_ text: String, voice: String = "en") throws -> SpokenText {
        try speak(Script(text: text, language: voice))
    }

    /// Checks a script as `speak` would, without speaking it: the text, the language, the voice.
    public static func check(_ script: Script) throws {
        _ = try Reading(script)
    }

    /// Who speaks a script: another engine's voice (the script's plain text), or espeak-ng.
    enum Reading {
        case program(SpeechVoice)
        case espeak(Utterance)

        init(_ script: Script) throws {
            try script.validate()
            // The markup is checked now, whichever engine reads it; and there must be words.
            let text = script.text.trimmingCharacters(in: .whitespacesAndNewlines)
            let shown = ScriptMarkup.isMarkup(text) ? try ScriptMarkup.parse(text).shown : text
            guard shown.contains(where: { $0.isLetter || $0.isNumber }) else {
                throw MouthpieceError(
                    .emptyText, "The script has nothing to say: no letters or digits.", field: "text")
            }
            if let voice = try Voices.choose(for: script) {
                self = .program(voice)
            } else {
                self = .espeak(try Utterance(script))
            }
        }
    }

    /// What espeak-ng is given for a script, made once: the voice, the text it reads (SSML written
    /// out again, or Japanese in kana) and the map back to the text words and captions show.
    struct Utterance {
        let voice: String
        let said: String
        let markup: Bool
        let shown: (text: String, toText: [Int])?
        /// Positions of `said` where no word of the script starts (inside a rewritten date...).
        let inside: Set<Int>

        init(_ script: Script) throws {
            let text = script.text.trimmingCharacters(in: .whitespacesAndNewlines)
            voice = SpeechSynthesizer.readingHan(try voiceName(for: script), text)
            let japanese = voice == "ja" || voice.hasPrefix("ja+")
            if ScriptMarkup.isMarkup(text) {
                let parsed = try ScriptMarkup.parse(text)
                // MeCab would read the markup as words: kana only inside it, for now.
                if japanese && text.unicodeScalars.contains(where: JapaneseReading.isKanji) {
                    throw MouthpieceError(
                        .invalidParameter,
                        "Inside SSML markup, write Japanese in kana (kanji are read without markup).",
                        field: "text")
                }
                (said, markup, shown, inside) = (parsed.markup, true, (parsed.shown, parsed.toShown), [])
            } else if japanese {
                // espeak-ng reads Japanese in kana only (a kanji comes out as the English words
                // "Chinese letter"): MeCab reads the text first; a word it cannot read is refused.
                let form = SpokenForm.make(text, language: script.language, lexicon: script.lexicon)
                try form.check(against: text)
                let reading = try JapaneseReading.read(form.said)
                (said, markup, shown) = (reading.reading, false, (text, reading.toText.map { form.toText[$0] }))
                inside = Set(reading.toText.indices.filter { form.inside.contains(reading.toText[$0]) })
            } else {
                // Dates, money, abbreviations and the lexicon written out as they are said.
                let form = SpokenForm.make(text, language: script.language, lexicon: script.lexicon)
                try form.check(against: text)
                (said, markup, shown, inside) = (
                    form.said, false, form.changed ? (text, form.toText) : nil, form.inside
                )
            }
        }
    }

    /// Chinese in characters: espeak-ng's "cmn" turns each character into pinyin and then reads
    /// the pinyin's tone digits as English numbers; its "cmn-latn-pinyin" reads the same
    /// characters (and numbers) in Mandarin. Text with Han characters goes to the latter.
    static func readingHan(_ voice: String, _ text: String) -> String {
        guard voice == "cmn" || voice.hasPrefix("cmn+"),
            text.unicodeScalars.contains(where: {
                (0x4E00...0x9FFF).contains($0.value) || (0x3400...0x4DBF).contains($0.value)
            })
        else { return voice }
        return "cmn-latn-pinyin" + voice.dropFirst(3)
    }

    /// Speaks a script: in the voice asked for, else the language's most natural installed voice,
    /// else espeak-ng's.
    public static func speak(_ script: Script) throws -> SpokenText {
        switch try Reading(script) {
        case .program(let voice): return try ProgramVoices.speak(script, voice: voice)
        case .espeak(let utterance): return try speak(script, utterance)
        }
    }

    static func speak(_ script: Script, _ utterance: Utterance) throws -> SpokenText {
        let name = utterance.voice
        return try locked {
            guard espeak_SetVoiceByName(name) == EE_OK else {
                throw MouthpieceError(.unsupportedLanguage, "espeak-ng could not load \"\(name)\".", field: "language")
            }
            espeak_SetParameter(espeakRATE, Int32(script.rate), 0)
            espeak_SetParameter(espeakPITCH, Int32(script.pitch), 0)
            let sink = Sink()
            let context = Unmanaged.passRetained(sink)
            defer { context.release() }
            let status = utterance.said.withCString { chars in
                espeak_Synth(
                    chars, strlen(chars) + 1, 0, POS_CHARACTER, 0,
                    UInt32(espeakCHARS_UTF8) | (utterance.markup ? UInt32(espeakSSML) : 0), nil, context.toOpaque())
            }
            guard status == EE_OK else {
                throw MouthpieceError(
                    .internalError, "espeak-ng could not synthesise the text (error \(status.rawValue)).")
            }
            return spoken(
                from: sink, text: utterance.said, shown: utterance.shown, inside: utterance.inside, voice: name)
        }
    }

    /// espeak-ng's name for the script's language and variant ("es+f3"), once all is checked.
    static func voiceName(for script: Script) throws -> String {
        try script.validate()
        let languages = try self.languages()
        guard let language = resolve(script.language, in: languages) else {
            throw MouthpieceError(
                .unsupportedLanguage,
                "espeak-ng has no language \"\(script.language)\" (`mouthpiece voices` lists them).",
                field: "language")
        }
        var name = language.code
        if let voice = script.voice, !voice.isEmpty, voice != Voices.espeakDefault {
            guard try variants().contains(voice) else {
                throw MouthpieceError(
                    .unsupportedVoice, "There is no voice variant \"\(voice)\" (`mouthpiece voices` lists them).",
                    field: "voice")
            }
            name += "+" + voice
        }
        return name
    }

    /// The speech in `sink` of `text`. With `shown`, `text` is a reading of another text (Japanese
    /// in kana), whose words are reported instead: `toText` maps each scalar position of `text`
    /// (and its end) to one of the shown text.
    static func spoken(
        from sink: Sink, text: String, shown: (text: String, toText: [Int])? = nil, inside: Set<Int> = [],
        voice: String
    ) -> SpokenText {
        let duration = Double(sink.samples.count) / Double(sampleRate)
        // Each phoneme lasts until the next begins; pauses ("_") are not phonemes.
        var phonemes: [Phoneme] = []
        for (k, (name, start)) in sink.phonemes.enumerated() where !name.isEmpty && !name.hasPrefix("_") {
            let end = k + 1 < sink.phonemes.count ? sink.phonemes[k + 1].1 : duration
            phonemes.append(Phoneme(symbol: name, start: start, end: max(start, end)))
        }
        // A word lasts until its last phoneme ends (or the next word begins).
        // espeak-ng counts positions in code points (not in grapheme clusters: Devanagari, say).
        let characters = Array(text.unicodeScalars)
        // espeak-ng also reports empty words, and a word read in parts (Japanese kanji) more than
        // once: keep the first report of each position, in order.
        var events: [(position: Int, length: Int, start: Double)] = []
        for word in sink.words
        where word.length > 0 && word.position > (events.last?.position ?? 0) && !inside.contains(word.position - 1) {
            events.append(word)
        }
        var words: [SpokenWord] = []
        // The shown text and its map, when the map fits what was said (it always should).
        let map = shown.flatMap { $0.toText.count == characters.count + 1 ? $0 : nil }
        let written = map.map { Array($0.text.unicodeScalars) } ?? characters
        for (k, word) in events.enumerated() {
            var from = k == 0 ? 0 : min(characters.count, word.position - 1)
            var to = k + 1 < events.count ? min(characters.count, events[k + 1].position - 1) : characters.count
            if let map { (from, to) = (map.toText[from], map.toText[to]) }
            guard from < to else { continue }
            var spelled = ""
            spelled.unicodeScalars.append(contentsOf: written[from..<to])
            let next = k + 1 < events.count ? events[k + 1].start : duration
            let lastSound = phonemes.last { $0.start >= word.start && $0.start < next }?.end ?? next
            words.append(SpokenWord(text: spelled, start: word.start, end: max(word.start, min(next, lastSound))))
        }
        return SpokenText(
            audio: AudioClip(sampleRate: Int(sampleRate), samples: sink.samples), phonemes: phonemes,
            words: SpokenWord.joiningBlanks(words),
            voice: "espeak-ng" + (voice.firstIndex(of: "+").map { String(voice[$0...]) } ?? ""))
    }

    /// Every language espeak-ng has, sorted by code.
    public static func languages() throws -> [SpeechLanguage] {
        try locked {
            var out: [SpeechLanguage] = []
            guard var entry = espeak_ListVoices(nil) else { return [] }
            while let voice = entry.pointee {
                let codes = languageCodes(voice.pointee.languages)
                if let first = codes.first,
                    !(voice.pointee.identifier.map { String(cString: $0) } ?? "").hasPrefix(
                        "mb/")
                {
                    out.append(
                        SpeechLanguage(
                            code: first, name: voice.pointee.name.map { String(cString: $0) } ?? first,
                            aliases: Array(codes.dropFirst())))
                }
                entry += 1
            }
            return out.sorted { $0.code < $1.code }
        }
    }

    /// The voice variants ("f3", "klatt", "whisper"...), sorted.
    public static func variants() throws -> [String] {
        try locked {
            var spec = espeak_VOICE()
            return "variant".withCString { language -> [String] in
                spec.languages = language
                var out: [String] = []
                guard var entry = espeak_ListVoices(&spec) else { return [] }
                while let voice = entry.pointee {
                    // Identifiers are "!v/f3": the variant's name is the file's.
                    if let identifier = voice.pointee.identifier.map({ String(cString: $0) }),
                        let name = identifier.split(separator: "/").last
                    {
                        out.append(String(name))
                    }
                    entry += 1
                }
                return out.sorted()
            }
        }
    }

    /// The language `code` names: exactly, by alias, or by its first part ("pt-XX" -> "pt").
    static func resolve(_ code: String, in languages: [SpeechLanguage]) -> SpeechLanguage? {
        let wanted = code.lowercased().replacingOccurrences(of: "_", with: "-")
        if let exact = languages.first(where: { $0.code.lowercased() == wanted }) { return exact }
        if let alias = languages.first(where: { $0.aliases.contains { $0.lowercased() == wanted } }) { return alias }
        return nil
    }

    /// "priority byte, name, 0" pairs, ended by a 0 byte.
    static func languageCodes(_ list: UnsafePointer<CChar>?) -> [String] {
        guard let list else { return [] }
        var codes: [String] = []
        var p = list
        while p.pointee != 0 {
            p += 1  // the priority byte
            let code = String(cString: p)
            codes.append(code)
            p += code.utf8.count + 1
        }
        return codes
    }

    /// Runs `body` holding espeak-ng, started on first use.
    static func locked<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        if sampleRate == 0 {
            // Synchronous output, phoneme events named in IPA.
            let options = Int32(espeakINITIALIZE_PHONEME_EVENTS) | 0x0002
            let rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nil, options)
            guard rate > 0 else {
                throw MouthpieceError(
                    .modelUnavailable, "espeak-ng could not start (is espeak-ng-data installed?).")
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
                    let seconds = Double(event.pointee.audio_position) / 1000
                    if event.pointee.type == espeakEVENT_PHONEME {
                        let name = withUnsafeBytes(of: event.pointee.id.string) { raw in
                            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                        }
                        sink.phonemes.append((name, seconds))
                    } else if event.pointee.type == espeakEVENT_WORD {
                        sink.words.append(
                            (Int(event.pointee.text_position), Int(event.pointee.length), seconds))
                    }
                    event += 1
                }
                return 0
            }
        }
        return try body()
    }

    final class Sink {
        var samples: [Float] = []
        var phonemes: [(String, Double)] = []
        var words: [(position: Int, length: Int, start: Double)] = []
    }
}
