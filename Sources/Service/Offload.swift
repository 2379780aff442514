import Foundation

/// Blocking work (dlib, a render) on a thread of its own, awaited without holding a thread of
/// the server's pool.
enum Offload {
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
        try await withCheckedThrowingContinuation { continuation in
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
}
