import Face
import Foundation
import Motion
import MouthpieceCore
import TestSupport
import XCTest

@testable import Render

final class MouthBankTests: XCTestCase {
    /// Footage whose mouth opens and closes like speech (with a pause) and a target track: the
    /// path matches the openings, closes on rest, and mostly plays the footage's own runs instead
    /// of hopping between frames.
    func testThePathMatchesTheTargetsClosesOnRestAndDoesNotFlicker() {
        let crop = YUVImage(
            width: 4, height: 4, y: [UInt8](repeating: 0, count: 16), u: [UInt8](repeating: 128, count: 4),
            v: [UInt8](repeating: 128, count: 4))
        let face = FaceLandmarks(points: (0..<68).map { Point(Double($0 % 10) * 10, Double($0 / 10) * 10) })
        let samples = (0..<90).map { n -> MouthSample in
            let speaking = n < 60
            let opening = speaking ? 0.02 + 0.1 * (0.5 + 0.5 * sin(Double(n) * 0.7)) : 0.004
            return MouthSample(
                frameIndex: n, landmarks: face, opening: opening, width: 0.9, asymmetry: 0, yaw: 0, crop: crop)
        }
        let bank = MouthBank(samples: samples)
        let shapes = (0..<120).map { n -> MouthShape in
            n % 40 < 8 ? .rest : MouthShape(jawOpen: 0.5 + 0.4 * sin(Double(n) * 0.3), lipGap: 0.6)
        }
        let path = bank.path(for: shapes)
        XCTAssertEqual(path.count, shapes.count)
        var error = 0.0
        var jumps = 0
        for n in shapes.indices {
            error += abs(samples[path[n]].opening - bank.target(for: shapes[n]).opening)
            if n > 0 && path[n] != path[n - 1] && path[n] != path[n - 1] + 1 { jumps += 1 }
            if shapes[n] == .rest { XCTAssertLessThan(samples[path[n]].opening, 0.02, "frame \(n) rests closed") }
        }
        XCTAssertLessThan(error / Double(shapes.count), 0.02)
        XCTAssertLessThan(jumps, shapes.count / 3, "\(jumps) jumps")
    }
}
