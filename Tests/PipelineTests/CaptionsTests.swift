import Foundation
import Media
import MouthpieceCore
import Pipeline
import Speech
import TestSupport
import XCTest

final class CaptionsTests: XCTestCase {
    func testCuesFollowTheWordsSentencesAndLineLimits() throws {
        let text =
            "Mouthpiece turns one photograph into a talking video on an ordinary processor. It needs no graphics card! "
            + "Every caption stays short enough to read comfortably at a glance, and never runs past two lines on the screen."
        let spoken = try SpeechSynthesizer.speak(Script(text: text, language: "en-us"))
        let cues = Captions.cues(spoken.words)
        XCTAssertGreaterThanOrEqual(cues.count, 3)
        // Nothing lost, nothing added.
        XCTAssertEqual(
            cues.flatMap(\.lines).joined(separator: " ").split(separator: " "), text.split(separator: " "))
        for (k, cue) in cues.enumerated() {
            XCTAssertLessThanOrEqual(cue.lines.count, 2)
            XCTAssertTrue(cue.lines.allSatisfy { $0.count <= 42 }, "\(cue.lines)")
            XCTAssertLessThanOrEqual(cue.end - cue.start, 6.5)
            XCTAssertLessThan(cue.start, cue.end)
            if k > 0 { XCTAssertGreaterThanOrEqual(cue.start, cues[k - 1].end) }
        }
        // A sentence's end ends a cue.
        XCTAssertTrue(cues[0].lines.last?.hasSuffix("processor.") ?? false, "\(cues[0])")
        // Timed to the speech: the cue with "graphics" shows while the word is said.
        let word = try XCTUnwrap(spoken.words.first { $0.text.hasPrefix("graphics") })
        let cue = try XCTUnwrap(cues.first { $0.lines.joined(separator: " ").contains("graphics") })
        XCTAssertTrue(cue.start <= word.start && word.end <= cue.end)
        XCTAssertLessThanOrEqual(cues.last!.end, spoken.audio.duration + 0.9)

        let srt = Captions.srt(cues)
        XCTAssertTrue(srt.hasPrefix("1\n00:00:00,"), srt)
        XCTAssertTrue(srt.contains(" --> "))
        let vtt = Captions.webVTT(cues)
        XCTAssertTrue(vtt.hasPrefix("WEBVTT\n\n00:00:00."), vtt)
    }

    func testOverlongWordsAreCutAndTextIsEscaped() {
        let long = SpokenWord(text: String(repeating: "あ", count: 200) + "。", start: 1, end: 9)
        let cues = Captions.cues([SpokenWord(text: "Hi ", start: 0, end: 0.5), long])
        XCTAssertEqual(cues.flatMap(\.lines).joined().count, 203)  // "Hi" + 200 kana + "。"
        XCTAssertTrue(cues.allSatisfy { $0.lines.count <= 2 && $0.lines.allSatisfy { $0.count <= 42 } }, "\(cues)")
        XCTAssertTrue(cues.allSatisfy { $0.end - $0.start <= 6.5 }, "\(cues)")
        let tricky = [CaptionCue(start: 0, end: 1, lines: ["a <b> & {c} --> d"])]
        XCTAssertTrue(Captions.webVTT(tricky).contains("a &lt;b&gt; &amp; {c} --&gt; d"), Captions.webVTT(tricky))
        XCTAssertTrue(Captions.srt(tricky, forRendering: true).contains("a <b> & (c) → d"))
    }

    func testScriptsWithoutSpacesWrapAnywhere() {
        let lines = Captions.wrap(String(repeating: "ありがとうございます", count: 6), width: 16, maxLines: 2)
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines.allSatisfy { $0.count <= 60 })
        XCTAssertEqual(Captions.stamp(3723.4567, separator: ","), "01:02:03,457")
    }
}
