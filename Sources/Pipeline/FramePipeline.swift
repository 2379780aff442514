import Foundation
import Motion
import MouthpieceCore
import Render

/// Renders frames on its own thread, two slots ahead, while the caller encodes: render and encode
/// overlap on two cores. Frames come out strictly in order.
///
/// Each slot is owned by exactly one side at a time, handed over by the two semaphores per slot.
final class FramePipeline: @unchecked Sendable {
    private final class Slot: @unchecked Sendable {
        var image: YUVImage
        let filled = DispatchSemaphore(value: 0)
        let free = DispatchSemaphore(value: 1)
        init(_ image: YUVImage) { self.image = image }
    }

    private let slots: [Slot]
    private let lock = NSLock()
    private var stopped = false
    private let finished = DispatchSemaphore(value: 0)

    init(renderer: FrameRenderer, motion: [FaceMotion]) {
        slots = [Slot(renderer.makeFrame()), Slot(renderer.makeFrame())]
        let thread = Thread { [slots, self] in
            for (n, pose) in motion.enumerated() {
                let slot = slots[n % slots.count]
                slot.free.wait()
                if self.isStopped { break }
                renderer.render(pose, into: &slot.image)
                slot.filled.signal()
            }
            self.finished.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    /// Waits for frame `n` and lends it to `body`; frames must be taken in order 0, 1, 2, ...
    func withFrame(_ n: Int, _ body: (YUVImage) throws -> Void) rethrows {
        let slot = slots[n % slots.count]
        slot.filled.wait()
        defer { slot.free.signal() }
        try body(slot.image)
    }

    /// Ends the render thread (after the last frame, or early on an error) and waits for it.
    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
        for slot in slots { slot.free.signal() }
        finished.wait()
    }
}
