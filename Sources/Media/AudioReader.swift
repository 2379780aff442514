import CFFmpeg
import Foundation
import MouthpieceCore

/// Pulls decoded, resampled audio out of a file a chunk at a time.
///
/// Owns every FFmpeg object it opens (format, decoder, resampler, packet, frame) until deinit.
/// Not thread-safe: one reader belongs to one task.
public final class AudioReader {
    public let info: AudioSourceInfo
    public let sampleRate: Int
    public let channels: Int

    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var context: UnsafeMutablePointer<AVCodecContext>?
    private var resampler: OpaquePointer?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private let streamIndex: Int32
    private let limits: AudioDecoder.Limits
    private var produced = 0
    private var inputDone = false
    private var flushed = false
    private var decodedAny = false

    private static let unsupported = MouthpieceError(
        .unsupportedAudio,
        "The audio could not be read: use MP3, WAV, M4A/AAC, OGG (Vorbis or Opus), FLAC or WebM audio.",
        field: "audio")

    /// Sixteen times full scale (+24 dBFS).
    static let loudestSample: Float = 16

    private static let notAudio = MouthpieceError(
        .unsupportedAudio,
        "The audio holds samples that are not sound (not a number, infinite, or far beyond full scale): "
            + "the file is damaged or was written wrongly.",
        field: "audio")

    public init(path: String, sampleRate: Int, channels: Int, limits: AudioDecoder.Limits = .init()) throws {
        _ = FFmpegLogging.quiet
        self.sampleRate = sampleRate
        self.channels = channels
        self.limits = limits
        guard FileManager.default.fileExists(atPath: path) else {
            throw MouthpieceError(.inputNotFound, "The audio file \(path) does not exist.", field: "audio")
        }
        var opened: UnsafeMutablePointer<AVFormatContext>? = nil
        guard avformat_open_input(&opened, path, nil, nil) >= 0, let input = opened else { throw Self.unsupported }
        // The instance owns what it opened only once it is whole: until then the defer below
        // frees it. (A throw after the last `let` is set runs deinit too, so nothing may be
        // stored in the instance before then: a double close found by the malformed corpus.)
        var ok = false
        var codecContext: UnsafeMutablePointer<AVCodecContext>? = nil
        defer {
            if !ok {
                avcodec_free_context(&codecContext)
                avformat_close_input(&opened)
            }
        }
        guard avformat_find_stream_info(input, nil) >= 0 else { throw Self.unsupported }
        var decoderPointer: UnsafePointer<AVCodec>? = nil
        let index = av_find_best_stream(input, AVMEDIA_TYPE_AUDIO, -1, -1, &decoderPointer, 0)
        guard index >= 0, let decoder = decoderPointer, let stream = input.pointee.streams[Int(index)] else {
            throw MouthpieceError(.unsupportedAudio, "The file holds no audio stream.", field: "audio")
        }
        streamIndex = index
        let declared: Double? =
            input.pointee.duration > 0 ? Double(input.pointee.duration) / Double(AV_TIME_BASE) : nil
        if let declared, declared > limits.maxDuration + 1 { throw AudioDecoder.tooLong(declared, limits) }
        codecContext = avcodec_alloc_context3(decoder)
        guard let codec = codecContext,
            avcodec_parameters_to_context(codec, stream.pointee.codecpar) >= 0,
            avcodec_open2(codec, decoder, nil) >= 0
        else { throw Self.unsupported }
        info = AudioSourceInfo(
            codec: String(cString: decoder.pointee.name), sampleRate: Int(codec.pointee.sample_rate),
            channels: Int(codec.pointee.ch_layout.nb_channels), declaredDuration: declared)
        guard info.sampleRate > 0, info.channels > 0 else { throw Self.unsupported }

        var outLayout = AVChannelLayout()
        av_channel_layout_default(&outLayout, Int32(channels))
        defer { av_channel_layout_uninit(&outLayout) }
        var inLayout = AVChannelLayout()
        if codec.pointee.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC {
            av_channel_layout_default(&inLayout, codec.pointee.ch_layout.nb_channels)
        } else {
            av_channel_layout_copy(&inLayout, &codec.pointee.ch_layout)
        }
        defer { av_channel_layout_uninit(&inLayout) }
        var swr: OpaquePointer? = nil
        guard
            swr_alloc_set_opts2(
                &swr, &outLayout, AV_SAMPLE_FMT_FLT, Int32(sampleRate), &inLayout,
                codec.pointee.sample_fmt, codec.pointee.sample_rate, 0, nil) >= 0,
            swr_init(swr) >= 0
        else {
            swr_free(&swr)
            throw Self.unsupported
        }
        packet = av_packet_alloc()
        frame = av_frame_alloc()
        guard packet != nil, frame != nil else {
            swr_free(&swr)
            throw MouthpieceError(.internalError, "Out of memory opening the audio.", field: "audio")
        }
        resampler = swr
        format = input
        context = codec
        ok = true
    }

    deinit {
        av_packet_free(&packet)
        av_frame_free(&frame)
        swr_free(&resampler)
        avcodec_free_context(&context)
        avformat_close_input(&format)
    }

    /// The next interleaved chunk, or nil at the end of the file.
    public func next() throws -> [Float]? {
        while true {
            // Frames already decoded come first.
            let status = avcodec_receive_frame(context, frame)
            if status >= 0 {
                defer { av_frame_unref(frame) }
                let samples = try convert(frame)
                if !samples.isEmpty { return samples }
                continue
            }
            if status == mp_averror_eof() {
                if flushed { return nil }
                flushed = true
                guard decodedAny else { throw Self.unsupported }
                let tail = try convert(nil)
                return tail.isEmpty ? nil : tail
            }
            guard status == mp_averror_eagain() else { throw Self.unsupported }
            if inputDone { continue }
            if av_read_frame(format, packet) < 0 {
                inputDone = true
                avcodec_send_packet(context, nil)
                continue
            }
            defer { av_packet_unref(packet) }
            guard packet!.pointee.stream_index == streamIndex else { continue }
            // A damaged packet inside an otherwise good file is skipped, as players do.
            if avcodec_send_packet(context, packet) >= 0 { decodedAny = true }
        }
    }

    private func convert(_ source: UnsafeMutablePointer<AVFrame>?) throws -> [Float] {
        let inCount = Int32(source?.pointee.nb_samples ?? 0)
        let capacity = Int(swr_get_out_samples(resampler, inCount)) + 32
        if capacity <= 0 { return [] }
        var buffer = [Float](repeating: 0, count: capacity * channels)
        let got: Int32 = buffer.withUnsafeMutableBytes { raw in
            var out: UnsafeMutablePointer<UInt8>? = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            guard let source else { return swr_convert(resampler, &out, Int32(capacity), nil, 0) }
            // extended_data holds one plane pointer per channel (or one for packed formats).
            let input = UnsafeMutableRawPointer(source.pointee.extended_data!)
                .assumingMemoryBound(to: UnsafePointer<UInt8>?.self)
            return swr_convert(resampler, &out, Int32(capacity), input, inCount)
        }
        guard got >= 0 else { throw Self.unsupported }
        produced += Int(got)
        if Double(produced) / Double(sampleRate) > limits.maxDuration + 1 {
            throw AudioDecoder.tooLong(Double(produced) / Double(sampleRate), limits)
        }
        buffer.removeLast(buffer.count - Int(got) * channels)
        // Float sources can hold anything: NaN, infinities, 3e38. No real recording is 24 dB over
        // full scale; such a file is refused here rather than failing in the encoder later.
        if buffer.contains(where: { !($0.magnitude <= Self.loudestSample) }) { throw Self.notAudio }
        return buffer
    }
}
