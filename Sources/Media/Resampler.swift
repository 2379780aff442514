import CFFmpeg
import MouthpieceCore

/// Converts mono audio held in memory from one rate to another (libswresample), chunk by chunk:
/// a stream's state carries over between calls, so the chunks join without clicks.
public final class Resampler {
    public let inputRate: Int
    public let outputRate: Int
    private var context: OpaquePointer?

    public init(from inputRate: Int, to outputRate: Int) throws {
        _ = FFmpegLogging.quiet
        self.inputRate = inputRate
        self.outputRate = outputRate
        var outLayout = AVChannelLayout()
        av_channel_layout_default(&outLayout, 1)
        defer { av_channel_layout_uninit(&outLayout) }
        var inLayout = AVChannelLayout()
        av_channel_layout_default(&inLayout, 1)
        defer { av_channel_layout_uninit(&inLayout) }
        guard
            swr_alloc_set_opts2(
                &context, &outLayout, AV_SAMPLE_FMT_FLT, Int32(outputRate), &inLayout, AV_SAMPLE_FMT_FLT,
                Int32(inputRate), 0, nil) >= 0,
            swr_init(context) >= 0
        else {
            swr_free(&context)
            throw MouthpieceError(.invalidParameter, "Cannot resample audio from \(inputRate) to \(outputRate) Hz.")
        }
    }

    deinit { swr_free(&context) }

    /// The samples converted so far (some are held back for the filter until more arrive).
    public func convert(_ samples: [Float]) -> [Float] {
        if inputRate == outputRate { return samples }
        guard !samples.isEmpty else { return [] }
        return run(samples)
    }

    /// What the filter still holds, at the end of a stream.
    public func flush() -> [Float] { inputRate == outputRate ? [] : run(nil) }

    private func run(_ samples: [Float]?) -> [Float] {
        let count = samples?.count ?? 0
        let capacity = Int(swr_get_out_samples(context, Int32(count))) + 32
        var out = [Float](repeating: 0, count: capacity)
        let got: Int32 = out.withUnsafeMutableBytes { raw in
            var target: UnsafeMutablePointer<UInt8>? = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            guard let samples else { return swr_convert(context, &target, Int32(capacity), nil, 0) }
            return samples.withUnsafeBytes { source in
                var input: UnsafePointer<UInt8>? = source.baseAddress?.assumingMemoryBound(to: UInt8.self)
                return swr_convert(context, &target, Int32(capacity), &input, Int32(count))
            }
        }
        out.removeLast(capacity - max(0, Int(got)))
        return out
    }

    /// Converts a whole clip in one go, the filter's tail included.
    public static func convert(_ samples: [Float], from inputRate: Int, to outputRate: Int) throws -> [Float] {
        let resampler = try Resampler(from: inputRate, to: outputRate)
        return resampler.convert(samples) + resampler.flush()
    }
}
