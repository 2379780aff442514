import MouthpieceCore

/// Natural blinks: irregular intervals, quick to close and slower to open, now and then a double.
public struct BlinkTrack: Sendable {
    /// Seconds between blinks, drawn uniformly from this range.
    public var interval: ClosedRange<Double> = 2.2...5.5
    /// Length of one blink in seconds.
    public var duration: ClosedRange<Double> = 0.10...0.15
    /// Chance that a blink is followed at once by a second one.
    public var doubleBlinkChance = 0.12

    public init() {}

    /// Eyelid closure (0 open ... 1 shut) for each of `frameCount` frames.
    public func closure(frameCount: Int, fps: Int, seed: UInt64) -> [Double] {
        var random = SeededRandom(seed: seed ^ 0xB1_1A_4C)
        var out = [Double](repeating: 0, count: frameCount)
        let total = Double(frameCount) / Double(fps)
        var t = random.uniform(0.6...2.5)
        while t < total {
            var length = random.uniform(duration)
            add(start: t, length: length, to: &out, fps: fps)
            if random.unit() < doubleBlinkChance {
                let second = t + length + random.uniform(0.08...0.16)
                length = random.uniform(duration)
                add(start: second, length: length, to: &out, fps: fps)
                t = second
            }
            t += length + random.uniform(interval)
        }
        return out
    }

    private func add(start: Double, length: Double, to out: inout [Double], fps: Int) {
        // Closing takes 30 % of the blink, the lid rests shut for 20 %, opening takes the rest.
        let closing = length * 0.3
        let opening = length * 0.5
        let first = max(0, Int((start * Double(fps)).rounded(.down)))
        let last = min(out.count - 1, Int(((start + length) * Double(fps)).rounded(.up)))
        guard first <= last else { return }
        for n in first...last {
            let t = Double(n) / Double(fps) - start
            let v: Double
            if t < 0 || t > length {
                v = 0
            } else if t < closing {
                v = smoothstep(t / closing)
            } else if t < length - opening {
                v = 1
            } else {
                v = 1 - smoothstep((t - (length - opening)) / opening)
            }
            out[n] = max(out[n], v)
        }
    }

    private func smoothstep(_ x: Double) -> Double {
        let c = min(1, max(0, x))
        return c * c * (3 - 2 * c)
    }
}
