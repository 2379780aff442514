import Foundation
import MouthpieceCore
import Voice

/// Motion for a live stream: voice frames arrive one at a time and each frame's motion is made
/// once the voice `lookahead` frames past it is known, never later.
///
/// The batch tracks smooth with no phase lag, which needs the whole clip. Here the same tracks run
/// over a window that ends `lookahead` frames after the frame shown (the last few seconds before
/// it): the forward pass is as the batch path's, the backward pass sees only the look-ahead. The
/// loudness scale is the stream's own over the last half minute (a prior until a second of speech
/// has been heard), since a window of mostly silence has no speech level of its own.
public final class LiveMotionTrack {
    public let fps: Int
    /// Frames of voice needed past a frame before it is made (0.1 s or less is live).
    public let lookahead: Int
    public var mouth = MouthShapeTrack()
    public var head = HeadMotionTrack()
    public var blinks = BlinkTrack()
    public let seed: UInt64
    /// Frames before the one shown that its window holds (smoothing and closures need about a
    /// second; head motion's stress measure a little more).
    let context: Int
    /// Frames of loudness the stream's scale is measured over.
    let scaleSpan: Int
    private var frames: [VoiceFrame] = []
    /// Absolute index of `frames[0]`.
    private var firstHeld = 0
    private var loudness: [Double] = []
    private var blinkBlock: (start: Int, values: [Double]) = (0, [])

    public init(fps: Int, lookahead: Int, seed: UInt64) {
        self.fps = fps
        self.lookahead = max(0, lookahead)
        self.seed = seed
        context = 3 * fps
        scaleSpan = 30 * fps
    }

    /// Voice frames received so far.
    public var framesReceived: Int { firstHeld + frames.count }
    /// Frames whose motion can be made: all but the last `lookahead` received.
    public var framesReady: Int { max(0, framesReceived - lookahead) }

    public func append(_ frame: VoiceFrame) {
        frames.append(frame)
        loudness.append(frame.loudness)
        if loudness.count > scaleSpan + fps { loudness.removeFirst(loudness.count - scaleSpan) }
        let keep = context + lookahead + 1
        if frames.count > keep + fps {
            let drop = frames.count - keep
            frames.removeFirst(drop)
            firstHeld += drop
        }
    }

    /// Replaces the voice of frames from `index` on (those received but not yet shown) with
    /// silence: what an interruption does to audio already taken in.
    public func silence(from index: Int) {
        let silent = VoiceFrame(
            loudness: -100, lowBand: 0, midBand: 0, highBand: 0, centroid: 0, f1: 0, f2: 0, bassBand: 0)
        for i in max(index, firstHeld)..<framesReceived { frames[i - firstHeld] = silent }
    }

    /// The stream's loudness scale: its floor at the 10th percentile of the last half minute, its
    /// speech level at the 90th percentile of the frames above `absoluteSilence` (at least -26 dBFS
    /// until a second of speech has been heard), the gate a quarter of the way up.
    public var levels: SpeechLevels {
        let silence = mouth.absoluteSilence
        let sorted = loudness.sorted()
        let floor = sorted.isEmpty ? -90 : max(sorted[sorted.count / 10], -90)
        let speech = sorted.filter { $0 > silence }
        var peak = speech.isEmpty ? -100 : speech[min(speech.count - 1, speech.count * 9 / 10)]
        if speech.count < fps { peak = max(peak, -26) }
        let gate = max(floor + 0.25 * max(peak - floor, 12), silence)
        return SpeechLevels(floor: floor, peak: peak, gate: gate)
    }

    /// The motion of frame `index`, which must be below `framesReady` and not older than the held
    /// context.
    public func motion(at index: Int) -> FaceMotion {
        precondition(index < framesReady && index >= firstHeld, "frame \(index) is not ready or no longer held")
        let start = max(firstHeld, index - context)
        let window = VoiceFeatures(fps: fps, frames: Array(frames[(start - firstHeld)...]))
        let levels = levels
        let at = index - start
        let shape = mouth.shapes(for: window, levels: levels)[at]
        let pose = head.motion(for: window, seed: seed, firstFrame: start, levels: levels)[at]
        return FaceMotion(mouth: shape, blink: blink(at: index), head: pose)
    }

    /// Blinks are drawn a minute at a time from the seed (the schedule's prefix does not depend on
    /// how far it is drawn).
    private func blink(at index: Int) -> Double {
        let block = 60 * fps
        if index < blinkBlock.start || index >= blinkBlock.start + blinkBlock.values.count {
            let start = index / block * block
            let all = blinks.closure(frameCount: start + block, fps: fps, seed: seed)
            blinkBlock = (start, Array(all[start...]))
        }
        return blinkBlock.values[index - blinkBlock.start]
    }
}
