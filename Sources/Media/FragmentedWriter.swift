import CFFmpeg
import Foundation
import MouthpieceCore

/// Writes a live stream as fragmented MP4 (H.264 + AAC) into memory: an init segment (`ftyp` +
/// `moov`, no samples) and then one fragment (`moof` + `mdat`) per video frame, what a browser's
/// Media Source Extensions append one after the other.
///
/// Built for latency: x264 tuned for zero latency (no B-frames, no look-ahead, one packet out per
/// frame in), and audio and video stamped from one clock, the frame index: frame `n` at `n / fps`,
/// its audio (exactly `sampleRate / fps` samples) beside it. A frame may be skipped (`skipFrame`),
/// which leaves a gap in the video and none in the audio.
public final class FragmentedWriter {
    public struct Settings: Sendable {
        public var width: Int
        public var height: Int
        public var fps: Int
        /// The audio's rate: what arrives is what is encoded (AAC takes 16 and 24 kHz as they are).
        public var sampleRate: Int
        public var preset = "ultrafast"
        public var crf = 23
        public var threads = 1
        /// Seconds between key frames.
        public var keyInterval = 2.0

        public init(width: Int, height: Int, fps: Int, sampleRate: Int) {
            self.width = width
            self.height = height
            self.fps = fps
            self.sampleRate = sampleRate
        }

        /// Audio samples per video frame.
        public var samplesPerFrame: Int { sampleRate / fps }
    }

    public let settings: Settings
    /// `ftyp` + `moov`: what a player needs before any fragment.
    public private(set) var initSegment: [UInt8] = []
    /// The stream's type for `MediaSource.addSourceBuffer`, codecs named from the encoder's own
    /// parameters (for example `video/mp4; codecs="avc1.42C01F, mp4a.40.2"`).
    public private(set) var mimeType = ""
    public private(set) var framesWritten = 0

    private var output: UnsafeMutablePointer<AVFormatContext>?
    private var video: UnsafeMutablePointer<AVCodecContext>?
    private var audio: UnsafeMutablePointer<AVCodecContext>?
    private var videoStream: UnsafeMutablePointer<AVStream>?
    private var audioStream: UnsafeMutablePointer<AVStream>?
    private var yuv: UnsafeMutablePointer<AVFrame>?
    private var audioFrame: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var sink: Sink
    private var pendingAudio: [Float] = []
    private var audioSamplesSent = 0
    private var finished = false

    /// Where the muxer's bytes land until a fragment is taken.
    final class Sink {
        var bytes: [UInt8] = []
    }

    public init(settings: Settings) throws {
        _ = FFmpegLogging.quiet
        self.settings = settings
        sink = Sink()
        guard settings.width % 2 == 0, settings.height % 2 == 0, settings.fps > 0,
            settings.sampleRate % settings.fps == 0
        else {
            throw MouthpieceError(
                .invalidParameter, "A live stream needs even frame sizes and a whole number of samples a frame.")
        }
        let failed = { (what: String, status: Int32) in
            MouthpieceError(.encodingFailed, "\(what) failed: \(ffmpegMessage(status)).")
        }
        var status = avformat_alloc_output_context2(&output, nil, "mp4", nil)
        guard status >= 0, let output else { throw failed("Opening the MP4 muxer", status) }

        // Zero latency: no B-frames, no look-ahead, one packet out per frame in.
        let video = try Encoders.x264(
            width: settings.width, height: settings.height, rate: FrameRate(settings.fps),
            gop: Int(Double(settings.fps) * settings.keyInterval), threads: settings.threads, slices: true,
            maxBFrames: 0,
            options: [("preset", settings.preset), ("tune", "zerolatency"), ("crf", String(settings.crf))])
        self.video = video
        videoStream = try Encoders.stream(in: output, for: video)
        let audio = try Encoders.aac(sampleRate: settings.sampleRate, channels: 1, bitRate: 64_000)
        self.audio = audio
        audioStream = try Encoders.stream(in: output, for: audio)
        yuv = try Encoders.frame(for: video)
        audioFrame = try Encoders.frame(for: audio)
        packet = av_packet_alloc()
        guard packet != nil else { throw MouthpieceError(.internalError, "Out of memory.") }

        // The muxer writes into memory through a callback that appends to the sink.
        let bufferSize: Int32 = 64 * 1024
        guard let buffer = av_malloc(Int(bufferSize)) else { throw MouthpieceError(.internalError, "Out of memory.") }
        let opaque = Unmanaged.passUnretained(sink).toOpaque()
        output.pointee.pb = avio_alloc_context(
            buffer.assumingMemoryBound(to: UInt8.self), bufferSize, 1, opaque, nil,
            { opaque, data, size in
                guard let opaque, let data, size > 0 else { return 0 }
                let sink = Unmanaged<Sink>.fromOpaque(opaque).takeUnretainedValue()
                sink.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(size)))
                return size
            }, nil)
        guard output.pointee.pb != nil else {
            av_free(buffer)
            throw MouthpieceError(.internalError, "Out of memory.")
        }
        output.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
        var muxOptions: OpaquePointer? = nil
        // An empty moov up front, and a fragment wherever this writer says (after every frame).
        av_dict_set(&muxOptions, "movflags", "+empty_moov+default_base_moof+frag_custom+skip_trailer", 0)
        status = avformat_write_header(output, &muxOptions)
        av_dict_free(&muxOptions)
        guard status >= 0 else { throw failed("Writing the MP4 header", status) }
        avio_flush(output.pointee.pb)
        initSegment = sink.bytes
        sink.bytes = []
        mimeType = "video/mp4; codecs=\"\(Self.avcCodec(video)), mp4a.40.2\""
    }

    deinit {
        if let output, output.pointee.pb != nil {
            av_freep(&output.pointee.pb.pointee.buffer)
            avio_context_free(&output.pointee.pb)
        }
        avformat_free_context(output)
        avcodec_free_context(&video)
        avcodec_free_context(&audio)
        av_frame_free(&yuv)
        av_frame_free(&audioFrame)
        av_packet_free(&packet)
    }

    /// RFC 6381's name of the H.264 stream: profile, constraints and level from its `avcC` record.
    static func avcCodec(_ video: UnsafeMutablePointer<AVCodecContext>) -> String {
        let size = Int(video.pointee.extradata_size)
        guard size >= 4, let data = video.pointee.extradata else { return "avc1.42E01F" }
        if data[0] == 1 { return String(format: "avc1.%02X%02X%02X", data[1], data[2], data[3]) }
        // Annex B: the SPS follows a start code; its first bytes after the NAL header.
        for i in 0..<(size - 7) where data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 && data[i + 3] & 0x1F == 7 {
            return String(format: "avc1.%02X%02X%02X", data[i + 4], data[i + 5], data[i + 6])
        }
        return "avc1.42E01F"
    }

    /// Encodes frame `framesWritten` (nil: skipped, the previous picture stays on screen) with
    /// its audio, `samplesPerFrame` samples in -1...1, and returns the fragment holding both.
    public func append(_ frame: YUVImage?, audio samples: [Float]) throws -> [UInt8] {
        precondition(samples.count == settings.samplesPerFrame, "a frame's audio is samplesPerFrame samples")
        guard !finished, let yuv, let output else { return [] }
        if let frame {
            precondition(frame.width == settings.width && frame.height == settings.height, "frame size changed")
            guard av_frame_make_writable(yuv) >= 0 else { throw MouthpieceError(.internalError, "Out of memory.") }
            copy(frame.y, width: frame.width, rows: frame.height, into: 0)
            copy(frame.u, width: frame.chromaWidth, rows: frame.height / 2, into: 1)
            copy(frame.v, width: frame.chromaWidth, rows: frame.height / 2, into: 2)
            yuv.pointee.pts = Int64(framesWritten)
            try encode(video, frame: yuv, stream: videoStream)
        }
        framesWritten += 1
        pendingAudio += samples
        try encodeAudio(flush: false)
        // Ends the fragment: everything written since the last one.
        let status = av_write_frame(output, nil)
        guard status >= 0 else {
            throw MouthpieceError(.encodingFailed, "Closing a fragment failed: \(ffmpegMessage(status)).")
        }
        avio_flush(output.pointee.pb)
        defer { sink.bytes = [] }
        return sink.bytes
    }

    /// Flushes both encoders and returns the last fragment.
    public func finish() throws -> [UInt8] {
        guard !finished, let output else { return [] }
        try encode(video, frame: nil, stream: videoStream)
        try encodeAudio(flush: true)
        try encode(audio, frame: nil, stream: audioStream)
        finished = true
        _ = av_write_frame(output, nil)
        let status = av_write_trailer(output)
        guard status >= 0 else {
            throw MouthpieceError(.encodingFailed, "Ending the stream failed: \(ffmpegMessage(status)).")
        }
        avio_flush(output.pointee.pb)
        defer { sink.bytes = [] }
        return sink.bytes
    }

    private func copy(_ source: [UInt8], width: Int, rows: Int, into index: Int) {
        guard let yuv else { return }
        let (destination, stride) = plane(yuv, index)
        source.withUnsafeBufferPointer { src in
            for row in 0..<rows {
                (destination + row * stride).update(from: src.baseAddress! + row * width, count: width)
            }
        }
    }

    private func encodeAudio(flush: Bool) throws {
        guard let audio, let audioFrame else { return }
        let frameSize = Int(audio.pointee.frame_size)
        while pendingAudio.count >= frameSize || (flush && !pendingAudio.isEmpty) {
            let count = min(frameSize, pendingAudio.count)
            guard av_frame_make_writable(audioFrame) >= 0 else {
                throw MouthpieceError(.internalError, "Out of memory.")
            }
            audioFrame.pointee.nb_samples = Int32(count)
            let destination = UnsafeMutableRawPointer(audioFrame.pointee.extended_data[0]!)
                .assumingMemoryBound(to: Float.self)
            pendingAudio.withUnsafeBufferPointer { destination.update(from: $0.baseAddress!, count: count) }
            pendingAudio.removeFirst(count)
            audioFrame.pointee.pts = Int64(audioSamplesSent)
            audioSamplesSent += count
            try encode(audio, frame: audioFrame, stream: audioStream)
        }
    }

    private func encode(
        _ codec: UnsafeMutablePointer<AVCodecContext>?, frame: UnsafeMutablePointer<AVFrame>?,
        stream: UnsafeMutablePointer<AVStream>?
    ) throws {
        guard let codec, let stream, let packet, let output else { return }
        try Encoders.encode(codec, frame: frame, packet: packet, stream: stream) { packet in
            // In the order made: audio and video are each in time order, and every fragment ends
            // with a flush, so nothing waits for interleaving.
            let status = av_write_frame(output, packet)
            av_packet_unref(packet)
            guard status >= 0 else {
                throw MouthpieceError(.encodingFailed, "Writing the stream failed: \(ffmpegMessage(status)).")
            }
        }
    }
}
