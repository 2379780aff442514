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
        XCTAssertEqual(code(Script(text: "毎晩", language: "ja")), "invalid_parameter")
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
