import Foundation
import Media
import MouthpieceCore
import Speech
import XCTest

/// The voices beyond espeak-ng's: Festival (English) and Open JTalk (Japanese), each held to the
/// timing contract the mouth and the captions rely on.
final class VoiceEngineTests: XCTestCase {
    /// Every shipped voice: phonemes and words inside the audio, in order, the words giving back
    /// the script, and the lips' closures on /p b m/ inside the speech.
    func testEveryVoiceKeepsTheTimingContract() throws {
        for (voice, language, text, bilabials) in [
            ("festival-slt", "en-us", "My mother made a map. Bob bought maple syrup, didn't he?", 8),
            ("festival-kal", "en-us", "My mother made a map. Bob bought maple syrup, didn't he?", 8),
            ("openjtalk-mei", "ja", "ぼくは毎晩パンを食べます。お母さん、ありがとう。", 5),
        ] {
            let spoken = try SpeechSynthesizer.speak(Script(text: text, language: language, voice: voice))
            let duration = spoken.audio.duration
            XCTAssertEqual(spoken.voice, voice)
            XCTAssertGreaterThan(duration, 1.5, voice)
            XCTAssertGreaterThan(spoken.audio.samples.map(abs).max() ?? 0, 0.05, voice)
            XCTAssertEqual(spoken.phonemes.map(\.start), spoken.phonemes.map(\.start).sorted(), voice)
            XCTAssertTrue(
                spoken.phonemes.allSatisfy { 0 <= $0.start && $0.start <= $0.end && $0.end <= duration + 0.01 }, voice)
            XCTAssertEqual(spoken.words.map(\.text).joined(), text, voice)
            XCTAssertEqual(spoken.words.map(\.start), spoken.words.map(\.start).sorted(), voice)
            XCTAssertTrue(spoken.words.allSatisfy { $0.start <= $0.end && $0.end <= duration + 0.01 }, voice)
            XCTAssertGreaterThanOrEqual(spoken.words.count, language == "ja" ? 6 : 10, voice)
            let closures = spoken.phonemes.filter(\.isBilabial)
            XCTAssertGreaterThanOrEqual(closures.count, bilabials, "\(voice): \(spoken.phonemes.map(\.symbol))")
            for phone in closures {
                XCTAssertLessThan(phone.closure.lowerBound, phone.closure.upperBound + 1e-9, voice)
                XCTAssertLessThanOrEqual(phone.closure.upperBound, phone.end + 1e-9, voice)
            }
            // The lips are shut in a stop's closure: quieter than the vowels around it.
            let rate = Double(spoken.audio.sampleRate)
            func level(_ span: ClosedRange<Double>) -> Double {
                let from = Int(span.lowerBound * rate)
                let to = max(from + 1, min(spoken.audio.samples.count, Int(span.upperBound * rate)))
                let part = spoken.audio.samples[from..<to]
                return (part.reduce(0) { $0 + Double($1 * $1) } / Double(part.count)).squareRoot()
            }
            let stops = closures.filter { !$0.symbol.hasPrefix("m") }
            let vowels = spoken.phonemes.filter { "aeiouɑɔəɛɪʊʌæɯ".contains($0.symbol.first ?? " ") }
            let stopLevel = stops.map { level($0.closure) }.sorted()[stops.count / 2]
            let vowelLevel = vowels.map { level($0.start...$0.end) }.sorted()[vowels.count / 2]
            XCTAssertLessThan(stopLevel, 0.5 * vowelLevel, "\(voice): closures \(stopLevel), vowels \(vowelLevel)")
        }
    }

    /// English and Japanese get the natural voices by default (markup too); other languages espeak-ng.
    func testTheDefaultsAreTheNaturalVoicesWhereInstalled() throws {
        XCTAssertEqual(
            try SpeechSynthesizer.speak(Script(text: "Hello there.", language: "en-us")).voice, "festival-slt")
        XCTAssertEqual(try SpeechSynthesizer.speak(Script(text: "Hello there.", language: "en")).voice, "festival-slt")
        XCTAssertEqual(try SpeechSynthesizer.speak(Script(text: "こんにちは。", language: "ja")).voice, "openjtalk-mei")
        XCTAssertEqual(try SpeechSynthesizer.speak(Script(text: "Hola.", language: "es")).voice, "espeak-ng")
        XCTAssertEqual(
            try SpeechSynthesizer.speak(Script(text: "Hello.", language: "en-us", voice: "espeak-ng")).voice,
            "espeak-ng")
        XCTAssertEqual(
            try SpeechSynthesizer.speak(Script(text: "Hello.", language: "en-us", voice: "f3")).voice, "espeak-ng+f3")
        XCTAssertEqual(
            try SpeechSynthesizer.speak(
                Script(text: "<speak>Hello <break time=\"300ms\"/> there.</speak>", language: "en-us")
            ).voice, "festival-slt")
        let listing = try Voices.listing()
        let byID = Dictionary(uniqueKeysWithValues: listing.voices.map { ($0.id, $0) })
        XCTAssertEqual(byID["festival-slt"]?.defaultFor, ["en-us", "en"])
        XCTAssertEqual(byID["festival-slt"]?.tier, .natural)
        XCTAssertEqual(byID["festival-kal"]?.gender, .male)
        XCTAssertEqual(byID["openjtalk-mei"]?.defaultFor, ["ja"])
        XCTAssertEqual(byID["espeak-ng"]?.tier, .basic)
        XCTAssertTrue(listing.voices.allSatisfy(\.available))
        XCTAssertGreaterThan(listing.languages.count, 100)
    }

    /// Kanji and numbers are read by Open JTalk's own analyser: the kanji's sounds are those of
    /// their reading in kana (the particle は as "wa"), a year in thousands; Festival reads digits and
    /// money as words.
    func testKanjiAndNumbersAreRead() throws {
        func sounds(_ text: String, _ language: String, _ voice: String) throws -> [String] {
            try SpeechSynthesizer.speak(Script(text: text, language: language, voice: voice)).phonemes.map(\.symbol)
        }
        XCTAssertEqual(
            try sounds("東京は大きいです。", "ja", "openjtalk-mei"), try sounds("トーキョーワオーキーデス。", "ja", "openjtalk-mei"))
        XCTAssertEqual(
            try sounds("毎晩、本を読みます。", "ja", "openjtalk-mei"), try sounds("まいばん、ほんをよみます。", "ja", "openjtalk-mei"))
        func contains(_ said: [String], _ part: [String]) -> Bool {
            said.indices.contains { Array(said[$0...].prefix(part.count)) == part }
        }
        // 2026年: "ni sen ni juu roku nen".
        let year = try sounds("2026年に会いましょう。", "ja", "openjtalk-mei")
        XCTAssertTrue(
            contains(year, ["n", "i", "s", "e", "ɴ"]) && contains(year, ["ɾ", "o", "k", "ɯ", "n", "e", "ɴ"]), "\(year)")
        // "twenty five dollars".
        let money = try sounds("It costs $25.", "en-us", "festival-slt")
        XCTAssertTrue(contains(money, ["t", "w", "ɛ", "n"]) && contains(money, ["f", "aɪ", "v"]), "\(money)")
        XCTAssertTrue(contains(money, ["d", "ɑː", "l"]), "\(money)")
    }

    /// Rate changes the speech's length on every engine; a voice for another language is refused.
    func testRateAndTheLimitsOfEachVoice() throws {
        for (voice, language, text) in [
            ("festival-slt", "en-us", "This sentence is spoken twice."),
            ("festival-kal", "en-us", "This sentence is spoken twice."),
            ("openjtalk-mei", "ja", "この文は二回話します。"),
        ] {
            let slow = try SpeechSynthesizer.speak(Script(text: text, language: language, voice: voice, rate: 110))
            let fast = try SpeechSynthesizer.speak(Script(text: text, language: language, voice: voice, rate: 300))
            XCTAssertGreaterThan(slow.audio.duration, fast.audio.duration * 1.6, voice)
            XCTAssertEqual(slow.words.map(\.text), fast.words.map(\.text), voice)
        }
        func refusal(_ script: Script) -> (String, String?)? {
            do {
                try SpeechSynthesizer.check(script)
                return nil
            } catch let error as MouthpieceError {
                return (error.code.rawValue, error.field)
            } catch {
                return ("other", nil)
            }
        }
        XCTAssertEqual(
            refusal(Script(text: "<speak>Hi <foo/></speak>", language: "en-us", voice: "festival-slt"))?.0,
            "invalid_parameter")
        XCTAssertEqual(refusal(Script(text: "Hola.", language: "es", voice: "festival-slt"))?.0, "unsupported_voice")
        XCTAssertEqual(refusal(Script(text: "Hola.", language: "es", voice: "festival-slt"))?.1, "voice")
    }

    /// SSML on the engines that read plain text: a break is silence where it stands, emphasis and
    /// a slow prosody take longer, a substitution is said and its text shown, spelled characters
    /// are letters; the words show the text without the markup.
    func testMarkupIsHonouredByEveryEngine() throws {
        for (voice, language, plainText, marked, before, after) in [
            (
                "festival-slt", "en-us", "Hello there. How are you today?",
                "<speak>Hello there. <break time=\"900ms\"/> How are <emphasis level=\"strong\">you</emphasis> today?</speak>",
                "there", "How"
            ),
            (
                "festival-kal", "en-us", "Hello there. How are you today?",
                "<speak>Hello there. <break time=\"900ms\"/> How are <emphasis level=\"strong\">you</emphasis> today?</speak>",
                "there", "How"
            ),
            (
                "openjtalk-mei", "ja", "今日はいい天気ですね。",
                "<speak>今日は<break time=\"900ms\"/>いい<emphasis level=\"strong\">天気</emphasis>ですね。</speak>", "は", "いい"
            ),
        ] {
            let plain = try SpeechSynthesizer.speak(Script(text: plainText, language: language, voice: voice))
            let spoken = try SpeechSynthesizer.speak(Script(text: marked, language: language, voice: voice))
            XCTAssertEqual(spoken.voice, voice)
            XCTAssertGreaterThan(spoken.audio.duration, plain.audio.duration + 0.8, voice)
            XCTAssertEqual(
                spoken.words.map(\.text).joined().split(separator: " ").joined(separator: " "), plainText, voice)
            let first = try XCTUnwrap(spoken.words.first { $0.text.hasPrefix(before) }, voice)
            let second = try XCTUnwrap(spoken.words.first { $0.text.hasPrefix(after) }, voice)
            XCTAssertGreaterThan(second.start - first.end, 0.8, "\(voice): the pause is where the break is")
            XCTAssertEqual(spoken.phonemes.map(\.start), spoken.phonemes.map(\.start).sorted(), voice)
            XCTAssertTrue(spoken.phonemes.allSatisfy { $0.end <= spoken.audio.duration + 0.01 }, voice)
            // A slow span takes longer than the same words at the script's rate.
            let slow = try SpeechSynthesizer.speak(
                Script(
                    text: "<speak><prosody rate=\"x-slow\">\(plainText)</prosody></speak>", language: language,
                    voice: voice))
            XCTAssertGreaterThan(slow.audio.duration, plain.audio.duration * 1.3, voice)
        }
        let sub = try SpeechSynthesizer.speak(
            Script(
                text:
                    "<speak>Made by <sub alias=\"the World Wide Web Consortium\">W3C</sub>, <say-as interpret-as=\"characters\">NASA</say-as>.</speak>",
                language: "en-us", voice: "festival-slt"))
        XCTAssertEqual(sub.words.map(\.text).joined(), "Made by W3C, NASA.")
        let w3c = try XCTUnwrap(sub.words.first { $0.text.hasPrefix("W3C") })
        XCTAssertGreaterThan(w3c.end - w3c.start, 1.0, "the alias is said: \(sub.words)")
        let letters = sub.phonemes.map(\.symbol)
        // N-A-S-A spelled: "en", "ei", "es", "ei".
        XCTAssertTrue(letters.contains("ɛ") && letters.filter { $0 == "eɪ" }.count >= 2, "\(letters)")
    }

    /// Long scripts are spoken sentence by sentence (Open JTalk reads about 1000 bytes of a line);
    /// a pause at the end is kept; a script with nothing to say, or a lexicon that multiplies its
    /// length, is refused before anything is spoken.
    func testLongScriptsTrailingPausesAndRefusals() throws {
        let japanese = String(repeating: "こんにちは。", count: 60)
        let long = try SpeechSynthesizer.speak(Script(text: japanese, language: "ja"))
        XCTAssertEqual(long.voice, "openjtalk-mei")
        XCTAssertEqual(long.words.map(\.text).joined(), japanese)
        XCTAssertEqual(long.words.count, 60)
        XCTAssertGreaterThan(long.words.last!.start, 0.9 * long.audio.duration - 1.5, "the last sentence is said")
        let paused = try SpeechSynthesizer.speak(
            Script(text: "<speak>Hi <break time=\"3s\"/></speak>", language: "en-us", voice: "festival-slt"))
        XCTAssertGreaterThan(paused.audio.duration, 3.2)
        for text in ["...!? 😀", "<speak><break time=\"1s\"/></speak>"] {
            XCTAssertThrowsError(try SpeechSynthesizer.check(Script(text: text, language: "en-us")), text) {
                XCTAssertEqual(($0 as? MouthpieceError)?.code, .emptyText, text)
            }
        }
        var blown = Script(text: String(repeating: "a ", count: 2000), language: "en-us")
        blown.lexicon = ["a": String(repeating: "b", count: 100)]
        XCTAssertThrowsError(try SpeechSynthesizer.speak(blown)) {
            XCTAssertEqual(($0 as? MouthpieceError)?.code, .textTooLong)
        }
    }

    /// An engine missing at run time: asked for by name, a clear error naming what to install;
    /// left to the default, the language falls back to espeak-ng.
    func testAMissingEngineFailsClearlyOrFallsBack() throws {
        setenv("MOUTHPIECE_FESTIVAL", "/nonexistent/festival", 1)
        setenv("MOUTHPIECE_OPEN_JTALK", "/nonexistent/open_jtalk", 1)
        defer {
            unsetenv("MOUTHPIECE_FESTIVAL")
            unsetenv("MOUTHPIECE_OPEN_JTALK")
        }
        XCTAssertThrowsError(
            try SpeechSynthesizer.speak(Script(text: "Hi there.", language: "en-us", voice: "festival-slt"))
        ) {
            let error = $0 as? MouthpieceError
            XCTAssertEqual(error?.code, .modelUnavailable)
            XCTAssertEqual(error?.field, "voice")
            XCTAssertTrue(error?.message.contains("festival") ?? false, error?.message ?? "")
        }
        XCTAssertThrowsError(
            try SpeechSynthesizer.speak(Script(text: "こんにちは。", language: "ja", voice: "openjtalk-mei"))
        ) {
            XCTAssertEqual(($0 as? MouthpieceError)?.code, .modelUnavailable)
        }
        XCTAssertEqual(try SpeechSynthesizer.speak(Script(text: "Hi there.", language: "en-us")).voice, "espeak-ng")
        // Japanese falls back to espeak-ng reading MeCab's kana.
        let japanese = try SpeechSynthesizer.speak(Script(text: "東京は大きいです。", language: "ja"))
        XCTAssertEqual(japanese.voice, "espeak-ng")
        XCTAssertEqual(japanese.words.map(\.text).joined(), "東京は大きいです。")
        let listing = try Voices.listing()
        XCTAssertFalse(listing.voices.first { $0.id == "festival-slt" }?.available ?? true)
        XCTAssertEqual(listing.voices.first { $0.id == "festival-slt" }?.defaultFor, [])
    }
}

/// Scripts as people write them: dates, money and abbreviations said as a person would in each
/// language, Chinese in characters, and a key's lexicon, on every engine; words and captions keep
/// the script as written.
final class WrittenScriptTests: XCTestCase {
    func sounds(_ text: String, _ language: String, voice: String? = nil, lexicon: [String: String] = [:]) throws
        -> [String]
    {
        var script = Script(text: text, language: language, voice: voice)
        script.lexicon = lexicon
        return try SpeechSynthesizer.speak(script).phonemes.map(\.symbol)
    }

    func testDatesMoneyAndAbbreviationsAreSaidAsWords() throws {
        for (language, voice, written, said) in [
            (
                "de", nil, "Am 6.12.2026 zahlt Dr. Weber 25,50 €.",
                "Am sechsten Dezember 2026 zahlt Doktor Weber 25 Euro 50."
            ),
            (
                "es", nil, "El 6/12/2026 la Dra. Ruiz pagó 25,50 €.",
                "El 6 de diciembre de 2026 la doctora Ruiz pagó 25 euros con 50 céntimos."
            ),
            (
                "fr", nil, "Le 1/12/2026, M. Martin a payé 3 €.",
                "Le premier décembre 2026, monsieur Martin a payé 3 euros."
            ),
            (
                "en-us", "espeak-ng", "On 12/6/2026 it cost $25.50, e.g. here.",
                "On December sixth, 2026 it cost 25 dollars and 50 cents, for example here."
            ),
            (
                "en-us", "festival-slt", "On 2026-12-06 it cost $25.50.",
                "On December sixth, 2026 it cost 25 dollars and 50 cents."
            ),
        ] {
            XCTAssertEqual(
                try sounds(written, language, voice: voice), try sounds(said, language, voice: voice), written)
            var script = Script(text: written, language: language, voice: voice)
            script.lexicon = [:]
            let spoken = try SpeechSynthesizer.speak(script)
            XCTAssertEqual(spoken.words.map(\.text).joined(), written)
            XCTAssertEqual(spoken.words.map(\.start), spoken.words.map(\.start).sorted(), written)
            // The rewritten date is one word of the captions, lasting as long as it is said.
            let date = try XCTUnwrap(spoken.words.first { $0.text.contains("2026") }, written)
            XCTAssertGreaterThan(date.end - date.start, 1.0, "\(written): \(spoken.words)")
        }
    }

    func testChineseInCharactersIsReadInMandarin() throws {
        let text = "你好，我叫小明。今天是2026年12月6日。"
        let spoken = try SpeechSynthesizer.speak(Script(text: text, language: "cmn"))
        let said = spoken.phonemes.map(\.symbol)
        // espeak-ng's "cmn" switched to English for the tone digits: "(en)" markers, English sounds.
        XCTAssertFalse(said.contains { $0.hasPrefix("(") }, "\(said)")
        XCTAssertEqual(spoken.words.map(\.text).joined(), text)
        XCTAssertGreaterThanOrEqual(spoken.words.count, 8)
        XCTAssertEqual(try sounds("你好", "zh"), try sounds("你好", "cmn"))
        // Latin-only Mandarin text keeps the language's own reading.
        XCTAssertNoThrow(try sounds("ni hao", "cmn"))
    }

    func testTheLexiconIsSaidByEveryEngineAndTheWordShown() throws {
        for (language, voice, text, word, respelling, plain) in [
            ("en-us", "festival-slt", "Mr. Nguyen is here.", "Nguyen", "win", "Mr. win is here."),
            ("en-us", "festival-kal", "Mr. Nguyen is here.", "nguyen", "win", "Mr. win is here."),
            ("en-us", "espeak-ng", "Mr. Nguyen is here.", "Nguyen", "win", "Mr. win is here."),
            ("es", nil, "Hola, Siobhan.", "Siobhan", "Shivón", "Hola, Shivón."),
            ("ja", "openjtalk-mei", "東京に行きます。", "東京", "おおさか", "おおさかに行きます。"),
            ("ja", "espeak-ng", "東京に行きます。", "東京", "おおさか", "おおさかに行きます。"),
        ] {
            var script = Script(text: text, language: language, voice: voice)
            script.lexicon = [word: respelling]
            let spoken = try SpeechSynthesizer.speak(script)
            XCTAssertEqual(
                spoken.phonemes.map(\.symbol), try sounds(plain, language, voice: voice), "\(voice ?? language)")
            XCTAssertEqual(spoken.words.map(\.text).joined(), text, "\(voice ?? language)")
        }
        // Money with thousands grouped, and cents only as two digits.
        XCTAssertEqual(
            try sounds("It cost $1,000.", "en-us", voice: "espeak-ng"),
            try sounds("It cost 1000 dollars.", "en-us", voice: "espeak-ng"))
        // A word inside another is not replaced.
        XCTAssertEqual(
            try sounds("Winston is here.", "en-us", lexicon: ["Win": "wine"]), try sounds("Winston is here.", "en-us"))
        // Bad lexicons are refused with the field.
        for lexicon in [["": "x"], ["a": ""], [" a": "b"], ["a": "<b>"]] {
            var script = Script(text: "a", language: "en")
            script.lexicon = lexicon
            XCTAssertThrowsError(try script.validate(), "\(lexicon)") {
                XCTAssertEqual(($0 as? MouthpieceError)?.field, "lexicon")
            }
        }
    }
}
