import Media
import Motion
import TestSupport
import Voice
import XCTest

final class HeadMotionTrackTests: XCTestCase {
    let fps = 30
    let speech = SyntheticSpeech(sampleRate: 16_000, segments: [.silence(3), .speech(6), .silence(3)])

    func features() -> VoiceFeatures {
        let clip = AudioClip(sampleRate: 16_000, samples: speech.samples())
        return VoiceAnalyzer().analyze(clip, fps: fps, frameCount: Int(clip.duration * Double(fps)))
    }

    func testZeroScaleIsPerfectlyStill() {
        var track = HeadMotionTrack()
        track.scale = 0
        XCTAssertTrue(track.motion(for: features(), seed: 1).allSatisfy { $0 == .still })
    }

    func testMotionIsSmallSlowAndSeeded() {
        let f = features()
        let a = HeadMotionTrack().motion(for: f, seed: 5)
        XCTAssertEqual(a, HeadMotionTrack().motion(for: f, seed: 5))
        XCTAssertNotEqual(a, HeadMotionTrack().motion(for: f, seed: 6))
        let degrees = 180 / Double.pi
        let yaws = a.map { $0.yaw * degrees }
        XCTAssertLessThan(yaws.map(abs).max()!, 4, "a few degrees at most")
        XCTAssertGreaterThan(yaws.max()! - yaws.min()!, 0.5, "but it does move")
        // Slow drift (under 4.5 degrees a second) and quick but smooth nods (under 10 a second).
        for n in 1..<a.count {
            XCTAssertLessThan(abs(a[n].yaw - a[n - 1].yaw) * degrees, 0.15)
            XCTAssertLessThan(abs(a[n].pitch - a[n - 1].pitch) * degrees, 0.33)
        }
    }

    func testStressedSpeechNodsAndLiftsTheBrows() {
        let a = HeadMotionTrack().motion(for: features(), seed: 2)
        let speaking = (4 * fps)..<(8 * fps)
        let silent = (0..<(2 * fps))
        XCTAssertGreaterThan(speaking.map { a[$0].browLift }.max()!, 0.3)
        XCTAssertEqual(silent.map { a[$0].browLift }.max()!, 0, accuracy: 0.05)
    }
}
