import Foundation
import NIOPosix
import Synchronization

/// Blocking work (dlib, a probe, a DNS lookup, a render) off the server's event loops, awaited
/// without holding one of their threads. Short calls share a fixed pool, so a burst of requests
/// queues for threads instead of starting one each; renders (few: one per render worker, at
/// background priority, which a thread cannot give back) get a thread of their own.
enum Offload {
    /// The threads for short blocking calls: twice the cores, at least four.
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: max(4, 2 * ProcessInfo.processInfo.activeProcessorCount))
        pool.start()
        return pool
    }()

    /// How eagerly the thread competes for the processors.
    enum Priority {
        /// As the server's own threads.
        case normal
        /// Background (nice 10): renders, which would otherwise starve the HTTP side on a small
        /// machine. Threads started from it (the next-frame renderer, x264's) inherit it.
        case background
    }

    static func run<T: Sendable>(
        priority: Priority = .normal, _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        if priority == .normal { return try await pool.runIfActive(body) }
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                if priority == .background {
                    // On Linux, `who` 0 is the calling thread alone (NPTL keeps nice per thread).
                    _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
                }
                continuation.resume(with: Result { try body() })
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// As `run`, for a blocking call that cannot be interrupted but may be given up on (a DNS
    /// lookup): a cancel of the awaiting task answers `CancellationError` at once, and the pool's
    /// thread finishes the call on its own, its result dropped. Deadlines around it then hold.
    static func abandonable<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let once = ResumeOnce<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                once.await(continuation)
                pool.submit { state in
                    guard case .active = state else {
                        once.resume(with: .failure(CancellationError()))
                        return
                    }
                    once.resume(with: Result { try body() })
                }
            }
        } onCancel: {
            once.resume(with: .failure(CancellationError()))
        }
    }
}

/// A continuation resumed by whichever comes first, the work or a cancel (which may come
/// before the continuation exists); later outcomes are dropped.
final class ResumeOnce<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var early: Result<T, any Error>?
        var done = false
    }
    private let state = Mutex(State())

    func await(_ continuation: CheckedContinuation<T, any Error>) {
        let early: Result<T, any Error>? = state.withLock { state in
            guard let early = state.early else {
                state.continuation = continuation
                return nil
            }
            state.done = true
            return early
        }
        if let early { continuation.resume(with: early) }
    }

    func resume(with outcome: Result<T, any Error>) {
        let continuation: CheckedContinuation<T, any Error>? = state.withLock { state in
            guard !state.done else { return nil }
            guard let continuation = state.continuation else {
                if state.early == nil { state.early = outcome }
                return nil
            }
            state.done = true
            state.continuation = nil
            return continuation
        }
        continuation?.resume(with: outcome)
    }
}
