import CFFmpeg
import Foundation
import MouthpieceCore

/// A video input decoded frame by frame into upright YUV 4:2:0 pictures: rotation metadata applied,
/// odd sizes trimmed to even, full-range sources brought to limited range. Reads forward; `rewind()`
/// starts again from the first frame. One source belongs to one task.
public final class VideoSource {
    public struct Limits: Sendable {
        /// The longest input accepted, in seconds.
        public var maxDuration: Double = 600
        /// The largest picture accepted (4K UHD).
        public var maxPixels = 3840 * 2160

        public init() {}
    }

    public struct Info: Sendable {
        /// Upright size, even.
        public let width: Int
        public let height: Int
        public let frameRate: FrameRate
        /// Frames the container announces (or duration x rate when it does not say).
        public let estimatedFrameCount: Int
        public let duration: Double
        /// Clockwise quarter turns applied to every frame.
        public let quarterTurns: Int
        public let codec: String
        public let hasAudio: Bool
    }

    public let path: String
    public let info: Info

    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var decoder: UnsafeMutablePointer<AVCodecContext>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var scaler: OpaquePointer?
    private var scalerInput: (width: Int32, height: Int32, format: Int32) = (0, 0, -1)
    private let streamIndex: Int32
    /// The decoded size every frame is brought to (even), before rotation.
    private let codedSize: (width: Int, height: Int)
    private var draining = false
    private var ended = false
    /// Index of the next frame `next()` returns.
    public private(set) var position = 0
    /// Presentation time of every frame read so far, by index (to find frames again by seeking).
    private var timestamps: [Int64] = []
    private var indexOfTimestamp: [Int64: Int] = [:]
    /// After a seek: the next frame's index is found from its timestamp.
    private var resync = false

    /// Opens `path` and checks it against `limits`: `unsupported_video` for anything FFmpeg cannot
    /// decode or that is too large, `video_too_long` beyond the duration limit.
    public init(path: String, limits: Limits = Limits(), field: String = "video") throws {
        _ = FFmpegLogging.quiet
        self.path = path
        func refuse(_ why: String) -> MouthpieceError {
            MouthpieceError(.unsupportedVideo, "\(why) Use an MP4, MOV, WebM or MKV video.", field: field)
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw MouthpieceError(.inputNotFound, "The video \(path) does not exist.", field: field)
        }
        var opened: UnsafeMutablePointer<AVFormatContext>? = nil
        guard avformat_open_input(&opened, path, nil, nil) >= 0, let input = opened else {
            throw refuse("The file is not a readable video.")
        }
        format = input
        guard avformat_find_stream_info(input, nil) >= 0 else {
            avformat_close_input(&format)
            throw refuse("The file's streams could not be read.")
        }
        var codecPointer: UnsafePointer<AVCodec>? = nil
        let index = av_find_best_stream(input, AVMEDIA_TYPE_VIDEO, -1, -1, &codecPointer, 0)
        guard index >= 0, let codec = codecPointer, let stream = input.pointee.streams[Int(index)] else {
            avformat_close_input(&format)
            throw refuse("The file holds no video stream FFmpeg can decode.")
        }
        streamIndex = index
        let par = stream.pointee.codecpar!
        let rawWidth = Int(par.pointee.width)
        let rawHeight = Int(par.pointee.height)
        guard rawWidth >= 16, rawHeight >= 16 else {
            avformat_close_input(&format)
            throw refuse("The video's picture size is unknown or too small.")
        }
        guard rawWidth * rawHeight <= limits.maxPixels else {
            avformat_close_input(&format)
            throw MouthpieceError(
                .unsupportedVideo,
                "The video is \(rawWidth)x\(rawHeight); the largest accepted is 3840x2160 (or the same area).",
                field: field)
        }
        var rate = stream.pointee.avg_frame_rate
        if rate.num <= 0 || rate.den <= 0 { rate = stream.pointee.r_frame_rate }
        guard rate.num > 0, rate.den > 0, Double(rate.num) / Double(rate.den) <= 240,
            Double(rate.num) / Double(rate.den) >= 1
        else {
            avformat_close_input(&format)
            throw refuse("The video's frame rate is unknown.")
        }
        let timeBase = stream.pointee.time_base
        var duration =
            stream.pointee.duration > 0
            ? Double(stream.pointee.duration) * Double(timeBase.num) / Double(timeBase.den) : 0
        if duration <= 0, input.pointee.duration > 0 {
            duration = Double(input.pointee.duration) / Double(AV_TIME_BASE)
        }
        guard duration <= limits.maxDuration else {
            avformat_close_input(&format)
            throw MouthpieceError(
                .videoTooLong,
                "The video lasts \(duration.formatted(1)) s; the limit is \(limits.maxDuration.formatted(0)) s.",
                field: field)
        }
        let frameRate = FrameRate(Int(rate.num), Int(rate.den))
        let announced = Int(stream.pointee.nb_frames)
        let estimated = announced > 0 ? announced : max(1, frameRate.frames(in: duration))
        // Display matrices turn counter-clockwise; frames are turned clockwise to undo it.
        let degrees = mp_stream_rotation(stream)
        let turns = ((Int((-degrees / 90).rounded()) % 4) + 4) % 4
        let evenWidth = rawWidth & ~1
        let evenHeight = rawHeight & ~1
        codedSize = (evenWidth, evenHeight)
        let hasAudio = av_find_best_stream(input, AVMEDIA_TYPE_AUDIO, -1, -1, nil, 0) >= 0
        info = Info(
            width: turns % 2 == 1 ? evenHeight : evenWidth, height: turns % 2 == 1 ? evenWidth : evenHeight,
            frameRate: frameRate, estimatedFrameCount: estimated, duration: duration, quarterTurns: turns,
            codec: String(cString: avcodec_get_name(par.pointee.codec_id)), hasAudio: hasAudio)
        decoder = avcodec_alloc_context3(codec)
        packet = av_packet_alloc()
        frame = av_frame_alloc()
        guard let decoder, packet != nil, frame != nil,
            avcodec_parameters_to_context(decoder, par) >= 0
        else {
            close()
            throw MouthpieceError(.internalError, "Out of memory.")
        }
        decoder.pointee.thread_count = 0
        guard avcodec_open2(decoder, codec, nil) >= 0 else {
            close()
            throw refuse("The video's codec (\(info.codec)) could not be opened.")
        }
    }

    deinit { close() }

    private func close() {
        avcodec_free_context(&decoder)
        av_packet_free(&packet)
        av_frame_free(&frame)
        if let scaler { sws_freeContext(scaler) }
        scaler = nil
        avformat_close_input(&format)
    }

    /// The next frame, or nil at the end of the video.
    public func next() throws -> YUVImage? {
        guard let format, let decoder, let packet, let frame else { return nil }
        while !ended {
            let received = avcodec_receive_frame(decoder, frame)
            if received >= 0 {
                defer { av_frame_unref(frame) }
                let stamp = frame.pointee.best_effort_timestamp
                if resync {
                    // Frames before the one the seek landed on are skipped until one is known.
                    guard let index = indexOfTimestamp[stamp] else { continue }
                    position = index
                    resync = false
                } else if position == timestamps.count {
                    timestamps.append(stamp)
                    if stamp != mp_nopts_value() { indexOfTimestamp[stamp] = position }
                }
                let image = try convert(frame)
                position += 1
                return image
            }
            if received == mp_averror_eof() {
                ended = true
                break
            }
            if draining {
                ended = true
                break
            }
            // The decoder wants more input.
            var fed = false
            while !fed {
                let status = av_read_frame(format, packet)
                if status < 0 {
                    avcodec_send_packet(decoder, nil)
                    draining = true
                    fed = true
                    break
                }
                defer { av_packet_unref(packet) }
                guard packet.pointee.stream_index == streamIndex else { continue }
                // A damaged packet is skipped, as players do; the frames around it still come.
                _ = avcodec_send_packet(decoder, packet)
                fed = true
            }
        }
        return nil
    }

    /// Starts again from the first frame.
    public func rewind() throws {
        guard let format, let decoder else { return }
        let status = avformat_seek_file(format, -1, Int64.min, 0, 0, 0)
        guard status >= 0 else {
            throw MouthpieceError(.unsupportedVideo, "The video cannot be read a second time (no seeking).")
        }
        avcodec_flush_buffers(decoder)
        draining = false
        ended = false
        resync = false
        position = 0
    }

    /// Moves to the nearest point at or before frame `target` from which decoding can start (a
    /// keyframe), so that `next()` reads on from there; false when that cannot be done (frames
    /// without timestamps, a file that cannot seek, a frame not yet read), and nothing changed.
    public func seek(toFrame target: Int) -> Bool {
        guard let format, let decoder, timestamps.indices.contains(target), timestamps[target] != mp_nopts_value(),
            timestamps.count == indexOfTimestamp.count
        else { return false }
        guard av_seek_frame(format, streamIndex, timestamps[target], AVSEEK_FLAG_BACKWARD) >= 0 else { return false }
        avcodec_flush_buffers(decoder)
        draining = false
        ended = false
        resync = true
        // Not known until the next frame says; at most `target`.
        position = 0
        return true
    }

    /// Converts a decoded frame to tightly packed, limited-range YUV 4:2:0 at the stream's even
    /// size (a frame of another size mid-stream is scaled to it), upright.
    private func convert(_ frame: UnsafeMutablePointer<AVFrame>) throws -> YUVImage {
        let (width, height) = codedSize
        let sourceWidth = Int32(frame.pointee.width) & ~1
        let sourceHeight = Int32(frame.pointee.height) & ~1
        guard sourceWidth >= 16, sourceHeight >= 16 else {
            throw MouthpieceError(.unsupportedVideo, "A frame of the video has no picture.", field: "video")
        }
        let (pixelFormat, fullRange) = PixelConverter.sourceFormat(frame)
        let key = (sourceWidth, sourceHeight, pixelFormat.rawValue)
        if scaler == nil || scalerInput != key {
            if let scaler { sws_freeContext(scaler) }
            scaler = sws_getContext(
                key.0, key.1, pixelFormat, Int32(width), Int32(height), AV_PIX_FMT_YUV420P, SWS_BICUBIC, nil, nil,
                nil)
            guard let scaler else {
                throw MouthpieceError(.unsupportedVideo, "The video's pixel format is not supported.", field: "video")
            }
            let coefficients = sws_getCoefficients(SWS_CS_DEFAULT)
            sws_setColorspaceDetails(scaler, coefficients, fullRange ? 1 : 0, coefficients, 0, 0, 1 << 16, 1 << 16)
            scalerInput = key
        }
        var y = [UInt8](repeating: 0, count: width * height)
        var u = [UInt8](repeating: 128, count: width * height / 4)
        var v = [UInt8](repeating: 128, count: width * height / 4)
        y.withUnsafeMutableBufferPointer { py in
            u.withUnsafeMutableBufferPointer { pu in
                v.withUnsafeMutableBufferPointer { pv in
                    var dst: [UnsafeMutablePointer<UInt8>?] = [py.baseAddress, pu.baseAddress, pv.baseAddress, nil]
                    var dstStride: [Int32] = [Int32(width), Int32(width / 2), Int32(width / 2), 0]
                    withUnsafePointer(to: &frame.pointee.data) { dataTuple in
                        dataTuple.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { src in
                            withUnsafePointer(to: &frame.pointee.linesize) { strideTuple in
                                strideTuple.withMemoryRebound(to: Int32.self, capacity: 8) { srcStride in
                                    _ = sws_scale(scaler, src, srcStride, 0, sourceHeight, &dst, &dstStride)
                                }
                            }
                        }
                    }
                }
            }
        }
        let image = YUVImage(width: width, height: height, y: y, u: u, v: v)
        return image.rotated(clockwiseQuarterTurns: info.quarterTurns)
    }
}
