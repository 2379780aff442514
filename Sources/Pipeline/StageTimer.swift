import Foundation
import MouthpieceCore

/// A job's stage timings, in the order they ran, and its total (for `RenderSummary.timings`).
final class StageTimer {
    private let clock = ContinuousClock()
    private let started: ContinuousClock.Instant
    private(set) var timings: [(stage: String, seconds: Double)] = []

    init() { started = clock.now }

    /// Runs `body` and records how long it took under `name`.
    func time<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let t0 = clock.now
        defer { record(name, (clock.now - t0).inSeconds) }
        return try body()
    }

    func record(_ name: String, _ seconds: Double) { timings.append((name, seconds)) }

    /// Seconds from the timer's start to `instant`.
    func elapsed(at instant: ContinuousClock.Instant) -> Double { (instant - started).inSeconds }

    /// Records the time since the timer was made as `total`.
    func finish() { record("total", (clock.now - started).inSeconds) }
}
