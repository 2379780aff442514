import Foundation
import Motion
import MouthpieceCore
import Render

/// Renders frames on its own thread, two slots ahead, while the caller encodes: render and encode
/// overlap on two cores. Frames come out strictly in order.
///
/// Ownership of the slots is counted under one condition: frame `n` lives in slot `n % 2`; the
/// render thread may fill frame `n` once frame `n - 2` has been handed back, and the caller may
/// read frame `n` once it has been filled. Stopping early (a cancel, an encoder error) only sets a
/// flag and wakes both sides; nothing is left waiting or half-counted, whatever the moment.
final class FramePipeline: @unchecked Sendable {
    private final class Slot: @unchecked Sendable {
        var image: YUVImage
        init(_ image: YUVImage) { self.image = image }
    }

    private let slots: [Slot]
    private let condition = NSCondition()
    // All below guarded by `condition`.
    private var produced = 0
    private var consumed = 0
    private var stopped = false
    private var threadDone = false

    init(renderer: FrameRenderer, motion: [FaceMotion]) {
        slots = [Slot(renderer.makeFrame()), Slot(renderer.makeFrame())]
        let thread = Thread { [slots, self] in
            for (n, pose) in motion.enumerated() {
                guard self.mayRender(n) else { break }
                renderer.render(pose, into: &slots[n % slots.count].image)
                self.condition.lock()
                self.produced = n + 1
                self.condition.broadcast()
                self.condition.unlock()
            }
            self.condition.lock()
            self.threadDone = true
            self.condition.broadcast()
            self.condition.unlock()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Waits until frame `n`'s slot is free; false once the pipeline is stopped.
    private func mayRender(_ n: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !stopped && n - consumed >= slots.count { condition.wait() }
        return !stopped
    }

    /// Waits for frame `n` and lends it to `body`; frames must be taken in order 0, 1, 2, ...
    func withFrame(_ n: Int, _ body: (YUVImage) throws -> Void) throws {
        condition.lock()
        while produced <= n && !threadDone && !stopped { condition.wait() }
        let ready = produced > n
        condition.unlock()
        guard ready else { throw MouthpieceError(.internalError, "The frame renderer stopped before frame \(n).") }
        defer {
            condition.lock()
            consumed = n + 1
            condition.broadcast()
            condition.unlock()
        }
        try body(slots[n % slots.count].image)
    }

    /// Ends the render thread (after the last frame, or early on an error) and waits for it.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !threadDone { condition.wait() }
        condition.unlock()
    }

}
