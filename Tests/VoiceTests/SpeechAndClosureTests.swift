import Media
import Speech
import Voice
import XCTest

@testable import Motion

final class SpeechAndClosureTests: XCTestCase {
    func testEspeakSpeaksWithPhonemeTimesInsideTheAudio() throws {
        let spoken = try SpeechSynthesizer.speak("Bob bought a map.", voice: "en")
        XCTAssertGreaterThan(spoken.audio.duration, 0.5)
        XCTAssertGreaterThan(spoken.audio.samples.map(abs).max() ?? 0, 0.05)
        let bilabials = spoken.phonemes.filter(\.isBilabial).map(\.symbol)
        XCTAssertGreaterThanOrEqual(bilabials.count, 4, "b, b, m, p in \(spoken.phonemes.map(\.symbol))")
        XCTAssertTrue(spoken.phonemes.allSatisfy { $0.start <= $0.end && $0.end <= spoken.audio.duration + 0.01 })
        XCTAssertEqual(spoken.phonemes.map(\.start), spoken.phonemes.map(\.start).sorted())
        XCTAssertThrowsError(try SpeechSynthesizer.speak("hola", voice: "no-such-voice"))
        XCTAssertThrowsError(try SpeechSynthesizer.speak("   ", voice: "en"))
    }

    func testAStopsSilenceInsideSpeechShutsTheLipsForAtLeastAFrame() {
        // Loud speech with a 40 ms hole (one frame at 25 fps) and a phrase-final pause.
        var levels = [Double](repeating: -15, count: 40)
        levels[12] = -60
        for i in 30..<40 { levels[i] = -90 }
        let frames = levels.map { VoiceFrame(loudness: $0, lowBand: 0.5, midBand: 0.3, highBand: 0.1, centroid: 1200) }
        let shut = MouthShapeTrack.closures(frames, gate: -40, fps: 25, minimum: 0.04)
        XCTAssertEqual(shut[12], 1)
        XCTAssertEqual(shut[5], 0)
        XCTAssertEqual(shut[20], 0)
        // The pause at the end is silence (gating closes it), not a closure between sounds.
        XCTAssertEqual(shut[35], 0)
        let shapes = MouthShapeTrack().shapes(for: VoiceFeatures(fps: 25, frames: frames))
        XCTAssertLessThan(shapes[12].jawOpen + shapes[12].lipGap, 0.1 * (shapes[8].jawOpen + shapes[8].lipGap))
    }

    func testANasalMurmurBetweenVowelsShutsTheLipsButALowVowelDoesNot() {
        let vowel = VoiceFrame(loudness: -15, lowBand: 0.5, midBand: 0.4, highBand: 0.02, centroid: 950, bassBand: 0.05)
        let murmur = VoiceFrame(loudness: -24, lowBand: 0.55, midBand: 0.13, highBand: 0, centroid: 330, bassBand: 0.7)
        let oo = VoiceFrame(loudness: -17, lowBand: 0.95, midBand: 0.01, highBand: 0.01, centroid: 380, bassBand: 0.1)
        let frames =
            [VoiceFrame](repeating: vowel, count: 6) + [murmur, murmur] + [VoiceFrame](repeating: vowel, count: 6)
            + [oo, oo] + [VoiceFrame](repeating: vowel, count: 6)
        let shut = MouthShapeTrack.closures(frames, gate: -40, fps: 25, minimum: 0.04)
        XCTAssertEqual(shut[6], 1)
        XCTAssertEqual(shut[7], 1)
        XCTAssertEqual(shut[14], 0)
        XCTAssertEqual(shut[15], 0)
    }

    func testRoundedAndSpreadVowelsDriveRoundingAndSpread() {
        func shape(_ formants: [Double]) -> MouthShape {
            let features = VoiceAnalyzer().analyze(FormantTests.vowel(formants), fps: 25, frameCount: 25)
            var mixed = features.frames
            // Quiet lead-in and tail so that the clip has a noise floor to measure speech against.
            let quiet = VoiceFrame(loudness: -80, lowBand: 0, midBand: 0, highBand: 0, centroid: 0)
            mixed = [VoiceFrame](repeating: quiet, count: 10) + mixed + [VoiceFrame](repeating: quiet, count: 10)
            return MouthShapeTrack().shapes(for: VoiceFeatures(fps: 25, frames: mixed))[22]
        }
        let u = shape([320, 800, 2300])
        let i = shape([300, 2250, 3000])
        let a = shape([750, 1200, 2600])
        XCTAssertGreaterThan(u.rounding, 0.3)
        XCTAssertLessThan(i.rounding, 0.05)
        XCTAssertGreaterThan(i.spread, 0.3)
        XCTAssertLessThan(u.spread, 0)
        XCTAssertGreaterThan(a.jawOpen, u.jawOpen)
    }
}
