import Foundation

/// The voice measured as it arrives: samples at `VoiceAnalyzer.sampleRate` go in, each frame's
/// features come out as soon as its window (centred on `n / fps`, half a window past it) is
/// complete. The same measurement as `VoiceAnalyzer`'s, frame for frame; only about a second of
/// samples is held.
public final class VoiceStream {
    public let fps: Int
    private let measurer: FrameMeasurer
    private var buffer: [Float] = []
    /// Absolute index of `buffer[0]`.
    private var offset = 0
    /// Frames measured so far.
    public private(set) var framesMeasured = 0

    public init(fps: Int, analyzer: VoiceAnalyzer = VoiceAnalyzer()) {
        self.fps = fps
        measurer = FrameMeasurer(sampleRate: VoiceAnalyzer.sampleRate, window: analyzer.window)
    }

    /// Samples received so far.
    public var samplesReceived: Int { offset + buffer.count }

    /// Appends samples and returns the frames that became measurable.
    public func append(_ samples: [Float]) -> [VoiceFrame] {
        buffer += samples
        var frames: [VoiceFrame] = []
        buffer.withUnsafeBufferPointer { held in
            while true {
                let start = measurer.windowStart(frame: framesMeasured, fps: fps)
                guard start + measurer.size <= offset + held.count else { break }
                frames.append(measurer.measure(held, start: start - offset))
                framesMeasured += 1
            }
        }
        // Drop what no later window needs, a second at a time.
        let needed = min(buffer.count, measurer.windowStart(frame: framesMeasured, fps: fps) - offset)
        if needed > VoiceAnalyzer.sampleRate {
            buffer.removeFirst(needed)
            offset += needed
        }
        return frames
    }

    /// At the end of the audio: the frames still owed up to its duration rounded to whole frames,
    /// their windows padded with silence. (Frames already measured may lie past that count; a
    /// caller that wants the clip's count drops them.)
    public func finish() -> [VoiceFrame] {
        let count = VoiceAnalyzer.frameCount(samples: samplesReceived, fps: fps)
        var frames: [VoiceFrame] = []
        buffer.withUnsafeBufferPointer { held in
            while framesMeasured < count {
                frames.append(
                    measurer.measure(held, start: measurer.windowStart(frame: framesMeasured, fps: fps) - offset))
                framesMeasured += 1
            }
        }
        return frames
    }
}
