import CFFmpeg
import MouthpieceCore

/// The encoders the MP4 writers open, and the loop that drains them: one place for libx264's and
/// AAC's set-up (both writers mux into MP4, which takes codec headers globally).
enum Encoders {
    static func failed(_ what: String, _ status: Int32) -> MouthpieceError {
        MouthpieceError(.encodingFailed, "\(what) failed: \(ffmpegMessage(status)).")
    }

    /// libx264 for yuv420p BT.709 pictures at `rate`, a key frame every `gop` frames; `options`
    /// are libx264's own (preset, crf, tune).
    static func x264(
        width: Int, height: Int, rate: FrameRate, gop: Int, threads: Int, slices: Bool, maxBFrames: Int? = nil,
        options: [(String, String)]
    ) throws -> UnsafeMutablePointer<AVCodecContext> {
        guard let codec = avcodec_find_encoder_by_name("libx264") else {
            throw MouthpieceError(.encodingFailed, "FFmpeg was built without libx264.")
        }
        guard let video = avcodec_alloc_context3(codec) else { throw MouthpieceError(.internalError, "Out of memory.") }
        video.pointee.width = Int32(width)
        video.pointee.height = Int32(height)
        video.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        video.pointee.time_base = AVRational(num: Int32(rate.den), den: Int32(rate.num))
        video.pointee.framerate = AVRational(num: Int32(rate.num), den: Int32(rate.den))
        video.pointee.gop_size = Int32(max(1, gop))
        if let maxBFrames { video.pointee.max_b_frames = Int32(maxBFrames) }
        video.pointee.thread_count = Int32(max(1, threads))
        if slices { video.pointee.thread_type = FF_THREAD_SLICE }
        video.pointee.color_range = AVCOL_RANGE_MPEG
        video.pointee.colorspace = AVCOL_SPC_BT709
        video.pointee.color_primaries = AVCOL_PRI_BT709
        video.pointee.color_trc = AVCOL_TRC_BT709
        video.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        var dictionary: OpaquePointer? = nil
        for (key, value) in options { av_dict_set(&dictionary, key, value, 0) }
        let status = avcodec_open2(video, codec, &dictionary)
        av_dict_free(&dictionary)
        guard status >= 0 else {
            var owned: UnsafeMutablePointer<AVCodecContext>? = video
            avcodec_free_context(&owned)
            throw failed("Opening libx264", status)
        }
        return video
    }

    /// FFmpeg's native AAC encoder, planar float.
    static func aac(sampleRate: Int, channels: Int, bitRate: Int) throws -> UnsafeMutablePointer<AVCodecContext> {
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_AAC) else {
            throw MouthpieceError(.encodingFailed, "FFmpeg has no AAC encoder.")
        }
        guard let audio = avcodec_alloc_context3(codec) else { throw MouthpieceError(.internalError, "Out of memory.") }
        audio.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
        audio.pointee.sample_rate = Int32(sampleRate)
        av_channel_layout_default(&audio.pointee.ch_layout, Int32(channels))
        audio.pointee.bit_rate = Int64(bitRate)
        audio.pointee.time_base = AVRational(num: 1, den: Int32(sampleRate))
        audio.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        let status = avcodec_open2(audio, codec, nil)
        guard status >= 0 else {
            var owned: UnsafeMutablePointer<AVCodecContext>? = audio
            avcodec_free_context(&owned)
            throw failed("Opening the AAC encoder", status)
        }
        return audio
    }

    /// A stream of `output` carrying what `codec` encodes.
    static func stream(
        in output: UnsafeMutablePointer<AVFormatContext>, for codec: UnsafeMutablePointer<AVCodecContext>
    ) throws -> UnsafeMutablePointer<AVStream> {
        guard let stream = avformat_new_stream(output, nil) else {
            throw MouthpieceError(.internalError, "Out of memory.")
        }
        avcodec_parameters_from_context(stream.pointee.codecpar, codec)
        stream.pointee.time_base = codec.pointee.time_base
        if codec.pointee.codec_type == AVMEDIA_TYPE_VIDEO {
            stream.pointee.avg_frame_rate = codec.pointee.framerate
            stream.pointee.r_frame_rate = codec.pointee.framerate
        }
        return stream
    }

    /// The picture (video) or the block of samples (audio) the writer fills for `codec`.
    static func frame(for codec: UnsafeMutablePointer<AVCodecContext>) throws -> UnsafeMutablePointer<AVFrame> {
        guard let frame = av_frame_alloc() else { throw MouthpieceError(.internalError, "Out of memory.") }
        if codec.pointee.codec_type == AVMEDIA_TYPE_VIDEO {
            frame.pointee.width = codec.pointee.width
            frame.pointee.height = codec.pointee.height
            frame.pointee.format = codec.pointee.pix_fmt.rawValue
        } else {
            frame.pointee.nb_samples = codec.pointee.frame_size
            frame.pointee.format = codec.pointee.sample_fmt.rawValue
            frame.pointee.sample_rate = codec.pointee.sample_rate
            av_channel_layout_copy(&frame.pointee.ch_layout, &codec.pointee.ch_layout)
        }
        guard av_frame_get_buffer(frame, 0) >= 0 else {
            var owned: UnsafeMutablePointer<AVFrame>? = frame
            av_frame_free(&owned)
            throw MouthpieceError(.internalError, "Out of memory.")
        }
        return frame
    }

    /// Sends `frame` (nil: the end) to `codec` and hands each packet it gives, stamped in the
    /// stream's time base, to `write`.
    static func encode(
        _ codec: UnsafeMutablePointer<AVCodecContext>, frame: UnsafeMutablePointer<AVFrame>?,
        packet: UnsafeMutablePointer<AVPacket>, stream: UnsafeMutablePointer<AVStream>,
        write: (UnsafeMutablePointer<AVPacket>) throws -> Void
    ) throws {
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
            // A video packet lasts one frame (the muxer needs it for the last frame's length).
            if codec.pointee.codec_type == AVMEDIA_TYPE_VIDEO { packet.pointee.duration = 1 }
            av_packet_rescale_ts(packet, codec.pointee.time_base, stream.pointee.time_base)
            packet.pointee.stream_index = stream.pointee.index
            try write(packet)
        }
    }
}
