import Foundation
import MouthpieceCore

/// Makes frames `0..<count` on its own thread, up to `depth` ahead of the caller, who takes them in
/// order (decode and paste on one core while the encoder works on the other). An error in making
/// a frame reaches the caller at that frame; `stop()` ends the thread early and waits for it.
final class FrameProducer: @unchecked Sendable {
    private let condition = NSCondition()
    // All below guarded by `condition`.
    private var ready: [Int: YUVImage] = [:]
    private var failure: (any Error)?
    private var taken = 0
    private var stopped = false
    private var threadDone = false

    init(count: Int, depth: Int = 3, _ make: @escaping @Sendable (Int) throws -> YUVImage) {
        let thread = Thread { [self] in
            for n in 0..<count {
                condition.lock()
                while !stopped && n - taken >= depth { condition.wait() }
                let go = !stopped
                condition.unlock()
                guard go else { break }
                do {
                    let frame = try make(n)
                    condition.lock()
                    ready[n] = frame
                    condition.broadcast()
                    condition.unlock()
                } catch {
                    condition.lock()
                    failure = error
                    condition.broadcast()
                    condition.unlock()
                    break
                }
            }
            condition.lock()
            threadDone = true
            condition.broadcast()
            condition.unlock()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Frame `n`, once made; frames must be taken in order 0, 1, 2, ...
    func take(_ n: Int) throws -> YUVImage {
        condition.lock()
        defer { condition.unlock() }
        while ready[n] == nil && failure == nil && !threadDone { condition.wait() }
        guard let frame = ready.removeValue(forKey: n) else {
            throw failure ?? MouthpieceError(.internalError, "The frame maker stopped before frame \(n).")
        }
        taken = n + 1
        condition.broadcast()
        return frame
    }

    /// Ends the thread (after the last frame, or early) and waits for it.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !threadDone { condition.wait() }
        condition.unlock()
    }
}
