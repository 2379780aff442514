import CFFmpeg
import Foundation
import MouthpieceCore

/// Writes an MP4: H.264 (libx264, yuv420p) video from RGB frames, and the audio of a source file
/// re-encoded to AAC, interleaved, with the index at the front (`faststart`).
///
/// Frame `n` is stamped `n / fps` exactly, so players and ffprobe see the requested rate. Owns every
/// FFmpeg object it opens until `finish()` or deinit. One writer belongs to one task.
public final class VideoWriter {
    /// Encoder settings; the defaults suit a talking head.
    public struct Settings: Sendable {
        public var width: Int
        public var height: Int
        public var fps: Int
        /// libx264 preset: `ultrafast` ... `veryslow`.
        public var preset: String
        /// Constant rate factor: lower is better quality and larger files.
        public var crf: Int
        /// Encoder threads; 0 lets libx264 choose.
        public var threads: Int
        /// Container metadata tags (title, comment, ...).
        public var metadata: [String: String]

        public init(
            width: Int, height: Int, fps: Int, preset: String = "veryfast", crf: Int = 20, threads: Int = 0,
            metadata: [String: String] = [:]
        ) {
            self.width = width
            self.height = height
            self.fps = fps
            self.preset = preset
            self.crf = crf
            self.threads = threads
            self.metadata = metadata
        }
    }

    public let settings: Settings
    public private(set) var framesWritten = 0

    private var output: UnsafeMutablePointer<AVFormatContext>?
    private var video: UnsafeMutablePointer<AVCodecContext>?
    private var audio: UnsafeMutablePointer<AVCodecContext>?
    private var videoStream: UnsafeMutablePointer<AVStream>?
    private var audioStream: UnsafeMutablePointer<AVStream>?
    private var yuv: UnsafeMutablePointer<AVFrame>?
    private var audioFrame: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var scaler: OpaquePointer?
    private var regionScratch: RegionScratch?
    private let audioReader: AudioReader
    private var pendingAudio: [Float] = []
    private var audioSamplesSent = 0
    private var audioFinished = false
    private var finished = false
    private let audioChannels: Int
    private let audioRate: Int

    /// Opens `path` for writing. The audio of `audioPath` is carried over whole.
    public init(path: String, settings: Settings, audioPath: String) throws {
        _ = FFmpegLogging.quiet
        self.settings = settings
        guard settings.width % 2 == 0, settings.height % 2 == 0, settings.fps > 0 else {
            throw MouthpieceError(.invalidParameter, "Frame size must be even and fps positive.")
        }
        // AAC wants one of its standard rates; other rates are resampled to 48 kHz.
        let probe = try AudioReader(path: audioPath, sampleRate: 48_000, channels: 1)
        let standard = [96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000]
        audioRate = standard.contains(probe.info.sampleRate) ? probe.info.sampleRate : 48_000
        audioChannels = min(2, probe.info.channels)
        audioReader = try AudioReader(path: audioPath, sampleRate: audioRate, channels: audioChannels)

        let failed = { (what: String, status: Int32) in
            MouthpieceError(.encodingFailed, "\(what) failed: \(ffmpegMessage(status)).")
        }
        var status = avformat_alloc_output_context2(&output, nil, "mp4", path)
        guard status >= 0, let output else { throw failed("Opening the MP4 muxer", status) }
        for (key, value) in settings.metadata.sorted(by: { $0.key < $1.key }) {
            av_dict_set(&output.pointee.metadata, key, value, 0)
        }

        // Video: libx264, yuv420p, time base 1/fps.
        guard let x264 = avcodec_find_encoder_by_name("libx264") else {
            throw MouthpieceError(.encodingFailed, "FFmpeg was built without libx264.")
        }
        videoStream = avformat_new_stream(output, nil)
        video = avcodec_alloc_context3(x264)
        guard let video, let videoStream else { throw MouthpieceError(.internalError, "Out of memory.") }
        video.pointee.width = Int32(settings.width)
        video.pointee.height = Int32(settings.height)
        video.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        video.pointee.time_base = AVRational(num: 1, den: Int32(settings.fps))
        video.pointee.framerate = AVRational(num: Int32(settings.fps), den: 1)
        video.pointee.gop_size = Int32(settings.fps * 2)
        video.pointee.thread_count = Int32(settings.threads)
        video.pointee.color_range = AVCOL_RANGE_MPEG
        video.pointee.colorspace = AVCOL_SPC_BT709
        video.pointee.color_primaries = AVCOL_PRI_BT709
        video.pointee.color_trc = AVCOL_TRC_BT709
        if output.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
            video.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        }
        var options: OpaquePointer? = nil
        av_dict_set(&options, "preset", settings.preset, 0)
        av_dict_set(&options, "crf", String(settings.crf), 0)
        status = avcodec_open2(video, x264, &options)
        av_dict_free(&options)
        guard status >= 0 else { throw failed("Opening libx264", status) }
        avcodec_parameters_from_context(videoStream.pointee.codecpar, video)
        videoStream.pointee.time_base = video.pointee.time_base
        videoStream.pointee.avg_frame_rate = video.pointee.framerate
        videoStream.pointee.r_frame_rate = video.pointee.framerate

        // Audio: FFmpeg's native AAC encoder.
        guard let aac = avcodec_find_encoder(AV_CODEC_ID_AAC) else {
            throw MouthpieceError(.encodingFailed, "FFmpeg has no AAC encoder.")
        }
        audioStream = avformat_new_stream(output, nil)
        audio = avcodec_alloc_context3(aac)
        guard let audio, let audioStream else { throw MouthpieceError(.internalError, "Out of memory.") }
        audio.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
        audio.pointee.sample_rate = Int32(audioRate)
        av_channel_layout_default(&audio.pointee.ch_layout, Int32(audioChannels))
        audio.pointee.bit_rate = audioChannels == 1 ? 96_000 : 160_000
        audio.pointee.time_base = AVRational(num: 1, den: Int32(audioRate))
        if output.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
            audio.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        }
        status = avcodec_open2(audio, aac, nil)
        guard status >= 0 else { throw failed("Opening the AAC encoder", status) }
        avcodec_parameters_from_context(audioStream.pointee.codecpar, audio)
        audioStream.pointee.time_base = audio.pointee.time_base

        // Buffers reused for every frame.
        yuv = av_frame_alloc()
        audioFrame = av_frame_alloc()
        packet = av_packet_alloc()
        guard let yuv, let audioFrame, packet != nil else { throw MouthpieceError(.internalError, "Out of memory.") }
        yuv.pointee.width = video.pointee.width
        yuv.pointee.height = video.pointee.height
        yuv.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        guard av_frame_get_buffer(yuv, 0) >= 0 else { throw MouthpieceError(.internalError, "Out of memory.") }
        audioFrame.pointee.nb_samples = audio.pointee.frame_size
        audioFrame.pointee.format = AV_SAMPLE_FMT_FLTP.rawValue
        audioFrame.pointee.sample_rate = audio.pointee.sample_rate
        av_channel_layout_copy(&audioFrame.pointee.ch_layout, &audio.pointee.ch_layout)
        guard av_frame_get_buffer(audioFrame, 0) >= 0 else {
            throw MouthpieceError(.internalError, "Out of memory.")
        }
        scaler = Self.makeScaler(width: settings.width, height: settings.height)

        status = avio_open(&output.pointee.pb, path, AVIO_FLAG_WRITE)
        guard status >= 0 else {
            throw MouthpieceError(
                .outputNotWritable, "Cannot write \(path): \(ffmpegMessage(status)).", field: "output")
        }
        var muxOptions: OpaquePointer? = nil
        av_dict_set(&muxOptions, "movflags", "+faststart", 0)
        status = avformat_write_header(output, &muxOptions)
        av_dict_free(&muxOptions)
        guard status >= 0 else { throw failed("Writing the MP4 header", status) }
    }

    deinit {
        if let output, output.pointee.pb != nil { avio_closep(&output.pointee.pb) }
        avformat_free_context(output)
        avcodec_free_context(&video)
        avcodec_free_context(&audio)
        av_frame_free(&yuv)
        av_frame_free(&audioFrame)
        av_packet_free(&packet)
        sws_freeContext(scaler)
    }

    /// Encodes one RGB frame of exactly the configured size.
    ///
    /// `changed` (x0, y0, x1, y1, exclusive ends) promises that every pixel outside it equals the
    /// previous frame's: only that region is converted to YUV again. Pass nil when anything may
    /// have changed.
    public func append(_ frame: RGBImage, changed: (x0: Int, y0: Int, x1: Int, y1: Int)? = nil) throws {
        precondition(frame.width == settings.width && frame.height == settings.height, "frame size changed")
        guard let yuv else { return }
        guard av_frame_make_writable(yuv) >= 0 else { throw MouthpieceError(.internalError, "Out of memory.") }
        frame.pixels.withUnsafeBufferPointer { rgb in
            if framesWritten > 0, let changed {
                convertRegion(rgb.baseAddress!, changed)
            } else {
                convert(
                    rgb.baseAddress!, rgbStride: frame.stride, rows: frame.height, scaler: scaler,
                    into: planes(of: yuv, x: 0, y: 0))
            }
        }
        yuv.pointee.pts = Int64(framesWritten)
        framesWritten += 1
        try encode(video, frame: yuv, stream: videoStream)
        // Keep the audio about half a second ahead of the video so the muxer can interleave.
        try feedAudio(until: Double(framesWritten) / Double(settings.fps) + 0.5)
    }

    /// Converts a region grown by a margin into scratch planes, then copies back only the region:
    /// chroma filtering at the scratch's edges never reaches the frame, so the result is the same
    /// as converting the whole frame.
    private func convertRegion(_ rgb: UnsafePointer<UInt8>, _ region: (x0: Int, y0: Int, x1: Int, y1: Int)) {
        guard let yuv else { return }
        let margin = 8
        let inner = (
            x0: max(0, region.x0) & ~1, y0: max(0, region.y0) & ~1,
            x1: min(settings.width, (region.x1 + 1) & ~1), y1: min(settings.height, (region.y1 + 1) & ~1)
        )
        guard inner.x1 > inner.x0, inner.y1 > inner.y0 else { return }
        let outer = (
            x0: max(0, inner.x0 - margin), y0: max(0, inner.y0 - margin),
            x1: min(settings.width, inner.x1 + margin), y1: min(settings.height, inner.y1 + margin)
        )
        let width = outer.x1 - outer.x0
        let height = outer.y1 - outer.y0
        if regionScratch == nil || regionScratch!.width != width || regionScratch!.height != height {
            regionScratch = RegionScratch(width: width, height: height)
        }
        let scratch = regionScratch!
        convert(
            rgb + (outer.y0 * settings.width + outer.x0) * 3, rgbStride: settings.width * 3, rows: height,
            scaler: scratch.scaler, into: scratch.planes)
        // Copy the inner region back into the frame's planes, luma then both chroma planes.
        for p in 0..<3 {
            let shift = p == 0 ? 0 : 1
            let (dstBase, dstStride) = plane(yuv, p)
            let (srcBase, srcStride) = (scratch.planes.data[p]!, Int(scratch.planes.strides[p]))
            let count = (inner.x1 - inner.x0) >> shift
            for y in (inner.y0 >> shift)..<(inner.y1 >> shift) {
                let sy = y - (outer.y0 >> shift)
                let sx = (inner.x0 - outer.x0) >> shift
                (dstBase + y * dstStride + (inner.x0 >> shift))
                    .update(from: srcBase + sy * srcStride + sx, count: count)
            }
        }
    }

    private struct Planes {
        var data: [UnsafeMutablePointer<UInt8>?]
        var strides: [Int32]
    }

    private func planes(of frame: UnsafeMutablePointer<AVFrame>, x: Int, y: Int) -> Planes {
        let (y0, s0) = plane(frame, 0)
        let (u0, s1) = plane(frame, 1)
        let (v0, s2) = plane(frame, 2)
        return Planes(data: [y0, u0, v0, nil], strides: [Int32(s0), Int32(s1), Int32(s2), 0])
    }

    private func convert(
        _ rgb: UnsafePointer<UInt8>, rgbStride: Int, rows: Int, scaler: OpaquePointer?, into planes: Planes
    ) {
        var src: [UnsafePointer<UInt8>?] = [rgb, nil, nil, nil]
        var srcStride: [Int32] = [Int32(rgbStride), 0, 0, 0]
        var dst = planes.data
        var dstStride = planes.strides
        _ = sws_scale(scaler, &src, &srcStride, 0, Int32(rows), &dst, &dstStride)
    }

    /// Planes and a converter for a fixed-size sub-rectangle, owned until replaced or deinit.
    private final class RegionScratch {
        let width: Int
        let height: Int
        let scaler: OpaquePointer?
        var frame: UnsafeMutablePointer<AVFrame>?
        let planes: Planes

        init(width: Int, height: Int) {
            self.width = width
            self.height = height
            scaler = VideoWriter.makeScaler(width: width, height: height)
            frame = av_frame_alloc()
            frame!.pointee.width = Int32(width)
            frame!.pointee.height = Int32(height)
            frame!.pointee.format = AV_PIX_FMT_YUV420P.rawValue
            precondition(av_frame_get_buffer(frame, 0) >= 0, "out of memory")
            let (y0, s0) = plane(frame!, 0)
            let (u0, s1) = plane(frame!, 1)
            let (v0, s2) = plane(frame!, 2)
            planes = Planes(data: [y0, u0, v0, nil], strides: [Int32(s0), Int32(s1), Int32(s2), 0])
        }

        deinit {
            av_frame_free(&frame)
            sws_freeContext(scaler)
        }
    }

    /// RGB24 -> YUV420P, BT.709, limited range: the one conversion every frame goes through.
    static func makeScaler(width: Int, height: Int) -> OpaquePointer? {
        let scaler = sws_getContext(
            Int32(width), Int32(height), AV_PIX_FMT_RGB24, Int32(width), Int32(height), AV_PIX_FMT_YUV420P,
            SWS_BILINEAR, nil, nil, nil)
        if let coefficients = sws_getCoefficients(SWS_CS_ITU709) {
            sws_setColorspaceDetails(scaler, coefficients, 1, coefficients, 0, 0, 1 << 16, 1 << 16)
        }
        return scaler
    }

    /// Flushes both encoders and writes the index. The file is complete when this returns.
    public func finish() throws {
        guard !finished, let output else { return }
        finished = true
        try encode(video, frame: nil, stream: videoStream)
        try feedAudio(until: .infinity)
        try encode(audio, frame: nil, stream: audioStream)
        var status = av_write_trailer(output)
        guard status >= 0 else {
            throw MouthpieceError(.encodingFailed, "Writing the MP4 index failed: \(ffmpegMessage(status)).")
        }
        status = avio_closep(&output.pointee.pb)
        guard status >= 0 else {
            throw MouthpieceError(.outputNotWritable, "Closing the output failed: \(ffmpegMessage(status)).")
        }
    }

    private func feedAudio(until seconds: Double) throws {
        guard let audio, let audioFrame else { return }
        let frameSize = Int(audio.pointee.frame_size)
        while !audioFinished, Double(audioSamplesSent) / Double(audioRate) < seconds {
            while pendingAudio.count < frameSize * audioChannels, !audioFinished {
                if let chunk = try audioReader.next() {
                    pendingAudio.append(contentsOf: chunk)
                } else {
                    audioFinished = true
                }
            }
            let available = min(frameSize, pendingAudio.count / audioChannels)
            if available == 0 { break }
            guard av_frame_make_writable(audioFrame) >= 0 else {
                throw MouthpieceError(.internalError, "Out of memory.")
            }
            audioFrame.pointee.nb_samples = Int32(available)
            // Planar float: de-interleave into one plane per channel.
            pendingAudio.withUnsafeBufferPointer { samples in
                for channel in 0..<audioChannels {
                    let planePointer = UnsafeMutableRawPointer(audioFrame.pointee.extended_data[channel]!)
                        .assumingMemoryBound(to: Float.self)
                    for i in 0..<available { planePointer[i] = samples[i * audioChannels + channel] }
                }
            }
            pendingAudio.removeFirst(available * audioChannels)
            audioFrame.pointee.pts = Int64(audioSamplesSent)
            audioSamplesSent += available
            try encode(audio, frame: audioFrame, stream: audioStream)
        }
    }

    private func encode(
        _ codec: UnsafeMutablePointer<AVCodecContext>?, frame: UnsafeMutablePointer<AVFrame>?,
        stream: UnsafeMutablePointer<AVStream>?
    ) throws {
        guard let codec, let stream, let packet, let output else { return }
        var status = avcodec_send_frame(codec, frame)
        guard status >= 0 || status == mp_averror_eof() else {
            throw MouthpieceError(.encodingFailed, "Encoding failed: \(ffmpegMessage(status)).")
        }
        while true {
            status = avcodec_receive_packet(codec, packet)
            if status == mp_averror_eagain() || status == mp_averror_eof() { return }
            guard status >= 0 else {
                throw MouthpieceError(.encodingFailed, "Encoding failed: \(ffmpegMessage(status)).")
            }
            if codec == video { packet.pointee.duration = 1 }
            av_packet_rescale_ts(packet, codec.pointee.time_base, stream.pointee.time_base)
            packet.pointee.stream_index = stream.pointee.index
            status = av_interleaved_write_frame(output, packet)
            guard status >= 0 else {
                throw MouthpieceError(.outputNotWritable, "Writing the video failed: \(ffmpegMessage(status)).")
            }
        }
    }
}
