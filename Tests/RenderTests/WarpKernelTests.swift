import CWarpKernel
import MouthpieceCore
import XCTest

final class WarpKernelTests: XCTestCase {
    /// The kernel (AVX2 where this CPU has it) writes the same bytes as the plain loop, for spans
    /// close to the identity (one pair of rows: byte shuffles), steep or stretched ones (gathers),
    /// leftward ones, and every length around the eight-sample blocks.
    func testKernelMatchesThePlainLoop() {
        var random = SeededRandom(seed: 7)
        let (width, height) = (640, 360)
        let plane = (0..<(width * height)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let one = 1 << 20
        var spans = 0
        plane.withUnsafeBufferPointer { source in
            for _ in 0..<4000 {
                let count = Int(random.next() % 70) + 1
                let steep = random.next() % 3 == 0
                let scale = steep ? 4.0 : 1.3
                let stepX = Int((random.unit() * 2 - 1) * scale * Double(one))
                let stepY = Int((random.unit() * 2 - 1) * (steep ? 2.0 : 0.05) * Double(one))
                // Start where every position of the span stays two samples inside the plane.
                let margin = Double(count) * 4.5 + 3
                let sx = Int((margin + random.unit() * (Double(width) - 2 * margin)) * Double(one))
                let sy = Int((margin / 2 + random.unit() * (Double(height) - margin)) * Double(one))
                let endX = sx + stepX * (count - 1)
                let endY = sy + stepY * (count - 1)
                guard min(sx, endX) >= 0, max(sx, endX) < (width - 2) << 20, min(sy, endY) >= 0,
                    max(sy, endY) < (height - 2) << 20
                else { continue }
                var fast = [UInt8](repeating: 0, count: count)
                var plain = [UInt8](repeating: 1, count: count)
                mp_warp_span(source.baseAddress!, width, &fast, count, sx, sy, stepX, stepY)
                mp_warp_span_plain(source.baseAddress!, width, &plain, count, sx, sy, stepX, stepY)
                XCTAssertEqual(fast, plain, "count \(count), step (\(stepX), \(stepY))")
                spans += 1
            }
        }
        XCTAssertGreaterThan(spans, 2000)
        // The development and CI machines are x86-64 with AVX2: the fast path is the one tested.
        #if arch(x86_64)
            XCTAssertEqual(mp_warp_uses_avx2(), 1)
        #endif
    }

    /// Spans the fast path must leave to the plain loop (positions past 32-bit lanes on a plane
    /// over 2048 samples wide, rows under 16 samples) give the plain loop's bytes too.
    func testSpansOutsideTheLanesTakeThePlainLoop() {
        var random = SeededRandom(seed: 11)
        for (width, height, startX) in [(2400, 8, 2100.0), (12, 40, 2.0)] {
            let plane = (0..<(width * height)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            plane.withUnsafeBufferPointer { source in
                for count in [1, 5, 8, 9] {
                    let sx = Int(startX * Double(1 << 20)) + Int(random.next() % (1 << 20))
                    let sy = Int(2.3 * Double(1 << 20))
                    var fast = [UInt8](repeating: 0, count: count)
                    var plain = [UInt8](repeating: 1, count: count)
                    mp_warp_span(source.baseAddress!, width, &fast, count, sx, sy, 1 << 19, 1 << 10)
                    mp_warp_span_plain(source.baseAddress!, width, &plain, count, sx, sy, 1 << 19, 1 << 10)
                    XCTAssertEqual(fast, plain, "\(width)x\(height), count \(count)")
                }
            }
        }
    }
}
