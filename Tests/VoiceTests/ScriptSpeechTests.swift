import Media
import MouthpieceCore
import Speech
import XCTest

final class ScriptSpeechTests: XCTestCase {
    func testWordsCarryTheScriptAndItsTimings() throws {
        for (language, text) in [
            ("en-us", "Hello, world! My mother made a map."), ("es", "Hola, ¿cómo estás? Buenos días."),
            ("ja", "こんにちは、せかい。ありがとう。"), ("ar", "مرحبا بالعالم. شكرا جزيلا."),
            ("hi", "नमस्ते दुनिया, आप कैसे हैं?"),
        ] {
            let spoken = try SpeechSynthesizer.speak(Script(text: text, language: language))
            print(language, spoken.words.map { "\($0.text)|\(String(format: "%.2f-%.2f", $0.start, $0.end))" })
            XCTAssertEqual(spoken.words.map(\.text).joined(), text, language)
            XCTAssertEqual(spoken.words.map(\.start), spoken.words.map(\.start).sorted(), language)
            XCTAssertGreaterThan(spoken.words.count, 2, language)
            XCTAssertLessThanOrEqual(spoken.words.last?.end ?? 99, spoken.audio.duration + 0.01, language)
        }
    }
}

final class ScriptErrorsTests: XCTestCase {
    func code(_ script: Script) -> String? {
        do {
            _ = try SpeechSynthesizer.speak(script)
            return nil
        } catch let error as MouthpieceError {
            return error.code.rawValue
        } catch {
            return "other"
        }
    }

    func testBadScriptsAreRefusedWithStableCodes() {
        XCTAssertEqual(code(Script(text: "hola", language: "xx-nowhere")), "unsupported_language")
        XCTAssertEqual(code(Script(text: "hola", language: "es", voice: "nobody")), "unsupported_voice")
        XCTAssertEqual(code(Script(text: "  \n ", language: "es")), "empty_text")
        XCTAssertEqual(code(Script(text: String(repeating: "a ", count: 3000), language: "en")), "text_too_long")
        XCTAssertEqual(code(Script(text: "hi", language: "en", rate: 20)), "invalid_parameter")
        XCTAssertEqual(code(Script(text: "hi", language: "en", pitch: 101)), "invalid_parameter")
        // A kanji MeCab's dictionary cannot read is refused, not spoken as "Chinese letter".
        XCTAssertEqual(code(Script(text: "龘は毎晩です", language: "ja", voice: "espeak-ng")), "invalid_parameter")
    }

    func testLanguagesVariantsRateAndPitch() throws {
        let codes = Set(try SpeechSynthesizer.languages().flatMap { [$0.code] + $0.aliases })
        XCTAssertGreaterThan(try SpeechSynthesizer.languages().count, 100)
        for wanted in ["en", "en-us", "es", "de", "fr", "ja", "ar", "hi", "cmn"] {
            XCTAssertTrue(codes.contains(wanted), wanted)
        }
        XCTAssertTrue(try SpeechSynthesizer.variants().contains("f3"))
        let slow = try SpeechSynthesizer.speak(
            Script(text: "This sentence is spoken twice.", language: "en", rate: 120))
        let fast = try SpeechSynthesizer.speak(
            Script(text: "This sentence is spoken twice.", language: "en", rate: 300))
        XCTAssertGreaterThan(slow.audio.duration, fast.audio.duration * 1.6)
        // A variant changes the voice, not the words.
        let variant = try SpeechSynthesizer.speak(
            Script(text: "This sentence is spoken twice.", language: "en", voice: "f3", rate: 120))
        XCTAssertEqual(variant.words.map(\.text), slow.words.map(\.text))
        XCTAssertNotEqual(variant.audio.samples.prefix(20000), slow.audio.samples.prefix(20000))
    }
}

/// espeak-ng's Japanese: MeCab reads kanji into the kana espeak-ng says (the fallback when Open
/// JTalk is not installed, and the voice for Japanese SSML).
final class JapaneseScriptTests: XCTestCase {
    func phonemes(_ text: String) throws -> [String] {
        try SpeechSynthesizer.speak(Script(text: text, language: "ja", voice: "espeak-ng")).phonemes.map(\.symbol)
    }

    /// Japanese written the normal way, with kanji, is read as a person would: the same sounds as
    /// its pronunciation written in kana (the particle は read "wa"), and the words and captions
    /// keep the kanji.
    func testKanjiAreReadAndTheWordsKeepThem() throws {
        for (written, kana) in [
            ("よろしくお願いします。", "よろしくおねがいします。"), ("東京は大きいです。", "トーキョーワオーキーデス。"),
            ("毎晩、本を読みます。", "まいばん、ほんをよみます。"),
        ] {
            let spoken = try SpeechSynthesizer.speak(Script(text: written, language: "ja", voice: "espeak-ng"))
            XCTAssertEqual(spoken.phonemes.map(\.symbol), try phonemes(kana), written)
            XCTAssertEqual(spoken.words.map(\.text).joined(), written)
            XCTAssertEqual(spoken.words.map(\.start), spoken.words.map(\.start).sorted(), written)
            for word in spoken.words {
                XCTAssertLessThanOrEqual(word.end, spoken.audio.duration + 0.01, written)
            }
        }
        // Never the English words espeak-ng says for a kanji it cannot read.
        let english = try phonemes("漢字")
        XCTAssertEqual(english, try phonemes("かんじ"))
    }

    /// Digits are read in Japanese, as part of the reading.
    func testNumbersAndKanjiTogether() throws {
        let spoken = try SpeechSynthesizer.speak(Script(text: "2026年に会いましょう。", language: "ja", voice: "espeak-ng"))
        XCTAssertEqual(spoken.words.map(\.text).joined(), "2026年に会いましょう。")
        XCTAssertGreaterThan(spoken.audio.duration, 1.5)
        // "ni sen ni juu roku nen": the thousands are spoken, then the kanji's "nen".
        let said = spoken.phonemes.map(\.symbol)
        let sen = ["s", "e̞", "n"]
        XCTAssertTrue(said.indices.contains { Array(said[$0...].prefix(3)) == sen }, "\(said)")
        // From the kanji on, the sounds of its kana.
        XCTAssertEqual(Array(said.suffix(11)), Array(try phonemes("ねんにあいましょう。").suffix(11)))
    }
}

final class ScriptMarkupTests: XCTestCase {
    /// SSML: a break adds its pause, emphasis and substitutions are spoken, and the words (and so
    /// the captions) show the text without the markup.
    func testBreaksAndEmphasisAreHonouredAndTheWordsShowNoMarkup() throws {
        let plain = try SpeechSynthesizer.speak(Script(text: "Hello there. How are you today?", language: "en-us"))
        let marked = try SpeechSynthesizer.speak(
            Script(
                text: "<speak>Hello there. <break time=\"900ms\"/> How are <emphasis>you</emphasis> today?</speak>",
                language: "en-us"))
        XCTAssertGreaterThan(marked.audio.duration, plain.audio.duration + 0.6)
        let words = marked.words.map(\.text).joined()
        XCTAssertFalse(words.contains("<") || words.contains(">"), words)
        XCTAssertEqual(
            words.split(separator: " ").joined(separator: " "), "Hello there. How are you today?")
        // The pause is where the break is: between "there." and "How".
        let how = try XCTUnwrap(marked.words.first { $0.text.hasPrefix("How") })
        let there = try XCTUnwrap(marked.words.first { $0.text.hasPrefix("there") })
        XCTAssertGreaterThan(how.start - there.end, 0.6)
        let sub = try SpeechSynthesizer.speak(
            Script(
                text: "<speak>Made by <sub alias=\"the World Wide Web Consortium\">W3C</sub>.</speak>", language: "en"))
        XCTAssertEqual(sub.words.map(\.text).joined().split(separator: " ").joined(separator: " "), "Made by W3C.")
        XCTAssertGreaterThan(
            sub.audio.duration, try SpeechSynthesizer.speak(Script(text: "Made by W3C.", language: "en")).audio.duration
        )
    }

    func testBadMarkupIsRefusedWithTheField() {
        for text in [
            "<speak>Hello <foo/> there</speak>", "<speak>Hello <break time=\"20s\"/></speak>",
            "<speak>Hello <emphasis>there</speak>", "<speak>Hi <break time=\"soon\"/></speak>",
            "<speak>Hi <sub>W3C</sub></speak>",
        ] {
            XCTAssertThrowsError(try SpeechSynthesizer.check(Script(text: text, language: "en")), text) { error in
                XCTAssertEqual((error as? MouthpieceError)?.code, .invalidParameter, text)
                XCTAssertEqual((error as? MouthpieceError)?.field, "text", text)
            }
        }
        XCTAssertNoThrow(try SpeechSynthesizer.check(Script(text: "<speak>Fish &amp; chips</speak>", language: "en")))
    }
}

final class ScriptMarkupSafetyTests: XCTestCase {
    /// espeak-ng's SSML reader is laxer than XML: what it would act on but XML hides (a tag in a
    /// comment, a `time=` inside another attribute's value) never reaches it.
    func testMarkupHiddenFromTheCheckIsRefusedOrDropped() throws {
        for text in [
            "<speak>Hi <!-- x > <audio src=\"/etc/passwd\"/> --> there</speak>",
            "<speak>Hi <?xml-stylesheet href=\"x\"?> there</speak>",
            "<speak>Hi <![CDATA[<audio src=\"/etc/passwd\"/>]]> there</speak>",
            "<speak>Hi <break time=\"1.5s\" strength=\" time='99999s'\"/> there</speak>",
            "<speak>Hi <prosody rate=\" time='99999s'\">there</prosody></speak>",
        ] {
            XCTAssertThrowsError(try SpeechSynthesizer.check(Script(text: text, language: "en")), text) { error in
                XCTAssertEqual((error as? MouthpieceError)?.code, .invalidParameter, text)
            }
        }
        // Unknown attributes are dropped, not passed on: the pause is the one asked for.
        let spoken = try SpeechSynthesizer.speak(
            Script(text: "<speak>Hi <break time=\"1.5s\" x=\" time='9s'\"/> there</speak>", language: "en"))
        XCTAssertLessThan(spoken.audio.duration, 3.5)
        XCTAssertGreaterThan(spoken.audio.duration, 1.7)
    }
}
