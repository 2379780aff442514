import Foundation
import Synchronization
import XCTest

@testable import Service

/// Blocking work leaves the event loops for a bounded pool: a burst queues for its threads.
final class OffloadTests: XCTestCase {
    final class Box<Value: Sendable>: Sendable {
        let value: Mutex<Value>
        init(_ value: Value) { self.value = Mutex(value) }
        func with<R: Sendable>(_ body: (inout sending Value) -> sending R) -> R { value.withLock(body) }
    }

    func testABurstOfBlockingCallsRunsOnABoundedPool() async throws {
        let running = Box((now: 0, most: 0))
        let threads = Box(Set<String>())
        let count = 64
        try await withThrowingTaskGroup(of: Int.self) { group in
            for n in 0..<count {
                group.addTask {
                    try await Offload.run {
                        running.with {
                            $0.now += 1; $0.most = max($0.most, $0.now)
                        }
                        threads.with { _ = $0.insert("\(pthread_self())") }
                        usleep(20_000)
                        running.with { $0.now -= 1 }
                        return n
                    }
                }
            }
            var seen = Set<Int>()
            for try await n in group { seen.insert(n) }
            XCTAssertEqual(seen.count, count)
        }
        let limit = max(4, 2 * ProcessInfo.processInfo.activeProcessorCount)
        XCTAssertLessThanOrEqual(running.with { $0.most }, limit)
        XCTAssertLessThanOrEqual(threads.with { $0.count }, limit)
        XCTAssertGreaterThan(running.with { $0.most }, 1, "the pool runs calls side by side")
    }

    func testAnAbandonedCallAnswersAtOnceAndTheCallFinishesOnItsOwn() async throws {
        let finished = Box(false)
        let task = Task {
            try await Offload.abandonable {
                usleep(300_000)
                finished.with { $0 = true }
                return 1
            }
        }
        try await Task.sleep(nanoseconds: 20_000_000)
        let start = Date()
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("a canceled wait returned a value")
        } catch is CancellationError {}
        XCTAssertLessThan(Date().timeIntervalSince(start), 0.2)
        try await Task.sleep(nanoseconds: 500_000_000)
        XCTAssertTrue(finished.with { $0 })
    }
}
