import Foundation
import Media
import XCTest

@testable import Voice

final class FormantTests: XCTestCase {
    /// A vowel made the way a voice makes one: a 120 Hz glottal buzz, tilted as a voice's is,
    /// through resonators at the vowel's formants (bandwidths 80-120 Hz), one second at 16 kHz.
    static func vowel(_ formants: [Double]) -> AudioClip {
        let rate = 16_000.0
        var signal = (0..<16_000).map { i -> Double in i % Int(rate / 120) == 0 ? 1 : 0 }
        // The glottal pulse's roll-off and the lips' radiation: about -6 dB an octave overall.
        var state = 0.0
        for i in signal.indices {
            state = signal[i] + 0.95 * state
            signal[i] = state
        }
        for (f, bandwidth) in zip(formants, [80.0, 100, 120]) {
            let r = exp(-Double.pi * bandwidth / rate)
            let c1 = 2 * r * cos(2 * Double.pi * f / rate)
            let c2 = -r * r
            var (y1, y2) = (0.0, 0.0)
            for i in signal.indices {
                let y = signal[i] + c1 * y1 + c2 * y2
                (y2, y1) = (y1, y)
                signal[i] = y
            }
        }
        let peak = signal.map(abs).max() ?? 1
        return AudioClip(sampleRate: 16_000, samples: signal.map { Float(0.5 * $0 / peak) })
    }

    func testFormantsOfOpenSpreadAndRoundedVowelsAreFound() {
        for (name, formants) in [("a", [750.0, 1200, 2600]), ("i", [300.0, 2250, 3000]), ("u", [320.0, 800, 2300])] {
            let features = VoiceAnalyzer().analyze(Self.vowel(formants), fps: 25, frameCount: 25)
            let middle = features.frames[5..<20]
            let f1 = middle.map(\.f1).sorted()[middle.count / 2]
            let f2 = middle.map(\.f2).sorted()[middle.count / 2]
            XCTAssertEqual(f1, formants[0], accuracy: formants[0] * 0.15, "F1 of \(name)")
            XCTAssertEqual(f2, formants[1], accuracy: formants[1] * 0.15, "F2 of \(name)")
        }
    }

    func testNoFormantsInSilence() {
        let features = VoiceAnalyzer().analyze(
            AudioClip(sampleRate: 16_000, samples: [Float](repeating: 0, count: 16_000)), fps: 25, frameCount: 25)
        XCTAssertTrue(features.frames.allSatisfy { $0.f1 == 0 && $0.f2 == 0 })
    }
}
