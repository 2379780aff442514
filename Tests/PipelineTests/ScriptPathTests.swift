import Foundation
import Media
import Motion
import MouthpieceCore
import Pipeline
import Speech
import TestSupport
import XCTest

/// The script path: espeak-ng's phonemes drive the mouth.
final class ScriptPathTests: XCTestCase {
    static let ordinary = [
        LipSyncSuite.Sample(
            language: "en-us",
            text: "Hello! I am a talking portrait. Mouthpiece turned one photograph and this voice into a video, "
                + "on an ordinary processor, in a few seconds."),
        LipSyncSuite.Sample(
            language: "es", text: "Hola, me llamo Lucía y hoy te voy a contar una historia sobre el viento y el sol."),
        LipSyncSuite.Sample(
            language: "de", text: "Guten Tag! Heute erzähle ich dir eine kurze Geschichte über den Wind und die Sonne."),
    ]

    /// On the same speech, the script path's opening follows the audio path's (frame by frame and
    /// at syllable scale, 200 ms), and its lips shut on every /p b m/, where the audio path can only
    /// guess them from dips in loudness.
    func testTheScriptPathAgreesWithTheAudioPathAndShutsOnEveryBilabial() throws {
        let fps = 25
        for (sample, dense) in LipSyncSuite.scripts.map({ ($0, true) }) + Self.ordinary.map({ ($0, false) }) {
            let spoken = try SpeechSynthesizer.speak(Script(text: sample.text, language: sample.language))
            let tracks = RenderJob.mouthTracks(for: spoken, fps: fps)
            let frameLevel = LipSyncSuite.agreement(tracks.audio, tracks.script)
            let syllableLevel = LipSyncSuite.agreement(tracks.audio, tracks.script, window: 5)
            func shut(_ track: [MouthShape], _ span: ClosedRange<Double>) -> Bool {
                let frames =
                    Int(
                        (span.lowerBound * Double(fps)).rounded(.down))...Int(
                        (span.upperBound * Double(fps)).rounded(.up))
                return frames.contains { $0 < track.count && track[$0].lipGap < 0.05 }
            }
            let spans = spoken.phonemes.filter(\.isBilabial).map(\.closure)
            let scriptShut = spans.filter { shut(tracks.script, $0) }.count
            let audioShut = spans.filter { shut(tracks.audio, $0) }.count
            print(
                "\(sample.language)\(dense ? " (p/b/m-dense)" : ""): paths agree r = \(frameLevel.formatted(2)) "
                    + "by frame, \(syllableLevel.formatted(2)) by syllable; /p b m/ shut: script "
                    + "\(scriptShut)/\(spans.count), audio \(audioShut)/\(spans.count)")
            XCTAssertGreaterThan(syllableLevel, dense ? 0.2 : 0.55, sample.language)
            XCTAssertGreaterThan(frameLevel, dense ? 0.2 : 0.45, sample.language)
            XCTAssertEqual(scriptShut, spans.count, sample.language)
            XCTAssertGreaterThanOrEqual(scriptShut, audioShut, sample.language)
        }
    }

    /// Vowels and consonants get the lips the IPA says they should.
    func testPhonemesShapeTheLips() throws {
        func shape(_ symbol: String) -> MouthShape {
            // One long phoneme between silences: its held shape in the middle.
            let track = PhonemeMouthTrack().shapes(
                for: [PhoneSpan(symbol: symbol, start: 0.2, end: 0.8, closure: nil)], frameCount: 25, fps: 25)
            return track[12]
        }
        XCTAssertGreaterThan(shape("u").rounding, 0.6)
        XCTAssertGreaterThan(shape("iː").spread, 0.5)
        XCTAssertGreaterThan(shape("ä").jawOpen, shape("i").jawOpen + 0.4)
        XCTAssertGreaterThan(shape("f").lowerLipTuck, 0.6)
        XCTAssertGreaterThan(shape("ʃ").rounding, 0.4)
        XCTAssertLessThan(shape("s").jawOpen, 0.1)
        // A language switch marker is not a sound.
        XCTAssertEqual(shape("(en)"), .rest)
    }
}

/// `mouthpiece say` end to end, on a portrait the rig was not tuned on.
final class SayCommandTests: XCTestCase {
    func testSayRendersSpeechWithClosuresCaptionsAndBurnedCaptions() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let portrait = try TestFiles.fixture("Tom_Cruise_avp_2014_4.jpg")
        let text = "Mi mamá me mima mucho. El perro de Pablo bebe agua."
        let common = [
            "say", "--image", portrait, "--text", text, "--language", "es", "--resolution", "480p", "--fps", "25",
            "--quiet", "--json",
        ]
        let plain = try TestFiles.run(TestFiles.mouthpieceBinary, common + ["-o", dir + "/plain.mp4"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let burned = try TestFiles.run(
            TestFiles.mouthpieceBinary, common + ["-o", dir + "/burned.mp4", "--burn-captions"])
        XCTAssertEqual(burned.status, 0, burned.stderr)

        // Speech in the file, as long as espeak-ng says it.
        let spoken = try SpeechSynthesizer.speak(Script(text: text, language: "es", rate: 160))
        let info = try MediaProbe.probe(path: dir + "/plain.mp4")
        XCTAssertEqual(info.duration, spoken.audio.duration, accuracy: 0.1)
        XCTAssertNotNil(info.audio)

        // Captions beside it, timed to the speech.
        let srt = try String(contentsOfFile: dir + "/plain.srt", encoding: .utf8)
        let vtt = try String(contentsOfFile: dir + "/plain.vtt", encoding: .utf8)
        XCTAssertTrue(srt.contains("Mi mamá me mima mucho."), srt)
        XCTAssertTrue(vtt.hasPrefix("WEBVTT"))
        let cues = Captions.cues(spoken.words)
        XCTAssertEqual(cues.count, 2)
        // The second cue starts when its first word is said (to within a frame or two).
        let blocks = srt.components(separatedBy: "\n\n")
        XCTAssertEqual(blocks.count, 2, srt)
        let stamp = blocks.last?.split(separator: "\n").dropFirst().first?.split(separator: " ").first ?? ""
        let parts = stamp.split(whereSeparator: { ":,".contains($0) }).compactMap { Double($0) }
        XCTAssertEqual(parts.count, 4, srt)
        if parts.count == 4 {
            let start = parts[0] * 3600 + parts[1] * 60 + parts[2] + parts[3] / 1000
            XCTAssertEqual(start, cues[1].start, accuracy: 0.1, srt)
        }
        XCTAssertTrue(blocks.last?.contains("El perro de Pablo bebe agua.") ?? false, srt)

        // The lips shut on the /p b m/, measured from the output's own pixels.
        let evaluation = try ClipEvaluation.evaluate(video: dir + "/plain.mp4")
        let result = evaluation.closures(at: spoken.phonemes.filter(\.isBilabial).map(\.closure))
        XCTAssertGreaterThanOrEqual(result.total, 8)
        XCTAssertGreaterThanOrEqual(Double(result.closed), 0.7 * Double(result.total), "\(result)")

        // Burned captions: the bottom of the frame changes while a cue shows, the face does not.
        var differences: [(bottom: Double, face: Double)] = []
        var plainFrames: [Int: RGBImage] = [:]
        let wanted = Int(((cues[0].start + cues[0].end) / 2 * 25).rounded())
        try VideoReader.forEachFrame(path: dir + "/plain.mp4") { n, frame in
            if n == wanted { plainFrames[n] = frame }
            return n < wanted
        }
        try VideoReader.forEachFrame(path: dir + "/burned.mp4") { n, frame in
            if n == wanted, let other = plainFrames[n] {
                func mean(rows: Range<Int>) -> Double {
                    var sum = 0.0
                    for y in rows {
                        for x in 0..<frame.width { sum += abs(Double(frame[x, y].0) - Double(other[x, y].0)) }
                    }
                    return sum / Double(rows.count * frame.width)
                }
                differences.append(
                    (mean(rows: frame.height * 4 / 5..<frame.height), mean(rows: frame.height / 5..<frame.height / 2)))
            }
            return n < wanted
        }
        let difference = try XCTUnwrap(differences.first)
        XCTAssertGreaterThan(difference.bottom, 8, "\(difference)")
        XCTAssertLessThan(difference.face, 1.5, "\(difference)")

        // Bad input: a stable code, exit status 2, nothing written.
        let bad = try TestFiles.run(
            TestFiles.mouthpieceBinary,
            ["say", "--image", portrait, "--text", "hola", "--language", "xx", "-o", dir + "/bad.mp4", "--quiet"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("error[unsupported_language]"), bad.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/bad.mp4"))
        let voices = try TestFiles.run(TestFiles.mouthpieceBinary, ["voices", "--json"])
        XCTAssertEqual(voices.status, 0)
        XCTAssertTrue(voices.stdout.contains("\"code\" : \"ja\""), String(voices.stdout.prefix(300)))
    }
}

/// `say` in the natural voices (Festival for English, Open JTalk for Japanese with kanji), on a
/// portrait the rig was not tuned on: the voice named in the summary, captions written, and the
/// lips shut on /p b m/ measured from the output's own pixels.
final class NaturalVoiceSayTests: XCTestCase {
    func testEnglishAndJapaneseSpeakInTheirOwnVoicesAndTheLipsCloseOnBilabials() throws {
        let dir = try TestFiles.scratchDirectory(for: self)
        let portrait = try TestFiles.fixture("Tom_Cruise_avp_2014_4.jpg")
        for (language, voice, text) in [
            ("en-us", "festival-slt", "My mother made a map. Bob bought maple syrup for the party."),
            ("ja", "openjtalk-mei", "僕は毎晩パンを食べます。母も妹もバナナが好きです。"),
        ] {
            let output = dir + "/\(language).mp4"
            let run = try TestFiles.run(
                TestFiles.mouthpieceBinary,
                [
                    "say", "--image", portrait, "--text", text, "--language", language, "--resolution", "480p",
                    "--fps", "25", "--quiet", "--json", "-o", output,
                ])
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertTrue(run.stdout.contains("\"voice\" : \"\(voice)\""), run.stdout)
            let srt = try String(contentsOfFile: dir + "/\(language).srt", encoding: .utf8)
            XCTAssertTrue(srt.contains(language == "ja" ? "僕は毎晩パンを食べます。" : "My mother made a map."), srt)
            // The same speech (both engines are deterministic) gives the closures' times.
            let spoken = try SpeechSynthesizer.speak(Script(text: text, language: language))
            XCTAssertEqual(try MediaProbe.probe(path: output).duration ?? 0, spoken.audio.duration, accuracy: 0.1)
            let evaluation = try ClipEvaluation.evaluate(video: output)
            let result = evaluation.closures(at: spoken.phonemes.filter(\.isBilabial).map(\.closure))
            print(
                "\(voice): lips shut on \(result.closed) of \(result.total) /p b m/, r \(evaluation.correlationAtZero)")
            XCTAssertGreaterThanOrEqual(result.total, 8, voice)
            XCTAssertGreaterThanOrEqual(Double(result.closed), 0.7 * Double(result.total), "\(voice): \(result)")
            XCTAssertGreaterThan(evaluation.correlationAtZero, 0.3, voice)
        }
    }
}

final class OutputPathTests: XCTestCase {
    /// An output over a device is refused, not renamed over it (which replaced /dev/null once).
    func testADeviceIsNeverReplacedByAnOutput() throws {
        XCTAssertThrowsError(try AtomicFile.write([1, 2, 3], to: "/dev/null")) {
            XCTAssertEqual(($0 as? MouthpieceError)?.code, .outputNotWritable)
        }
        let type = try FileManager.default.attributesOfItem(atPath: "/dev/null")[.type] as? FileAttributeType
        XCTAssertEqual(type, .typeCharacterSpecial)
    }
}
