import CFFmpeg
import MouthpieceCore

/// Decodes the video stream of a file to RGB frames, in order (for checks and the quality harness).
public enum VideoReader {
    /// Calls `body` with each frame's index and picture; return false to stop early.
    public static func forEachFrame(path: String, _ body: (Int, RGBImage) throws -> Bool) throws {
        _ = FFmpegLogging.quiet
        let unreadable = MouthpieceError(.unsupportedImage, "\(path) holds no readable video.")
        var format: UnsafeMutablePointer<AVFormatContext>? = nil
        guard avformat_open_input(&format, path, nil, nil) >= 0, let input = format else { throw unreadable }
        defer { avformat_close_input(&format) }
        guard avformat_find_stream_info(input, nil) >= 0 else { throw unreadable }
        var decoderPointer: UnsafePointer<AVCodec>? = nil
        let index = av_find_best_stream(input, AVMEDIA_TYPE_VIDEO, -1, -1, &decoderPointer, 0)
        guard index >= 0, let decoder = decoderPointer else { throw unreadable }
        var owned = avcodec_alloc_context3(decoder)
        var ownedPacket = av_packet_alloc()
        var ownedFrame = av_frame_alloc()
        defer {
            avcodec_free_context(&owned)
            av_packet_free(&ownedPacket)
            av_frame_free(&ownedFrame)
        }
        guard let context = owned, let packet = ownedPacket, let frame = ownedFrame,
            avcodec_parameters_to_context(context, input.pointee.streams[Int(index)]!.pointee.codecpar) >= 0,
            avcodec_open2(context, decoder, nil) >= 0
        else { throw unreadable }
        var count = 0
        var stop = false
        func drain() throws {
            while !stop, avcodec_receive_frame(context, frame) >= 0 {
                defer { av_frame_unref(frame) }
                let image = try PixelConverter.toRGB(frame)
                if try !body(count, image) { stop = true }
                count += 1
            }
        }
        while !stop, av_read_frame(input, packet) >= 0 {
            defer { av_packet_unref(packet) }
            guard packet.pointee.stream_index == index else { continue }
            guard avcodec_send_packet(context, packet) >= 0 else { throw unreadable }
            try drain()
        }
        if !stop {
            avcodec_send_packet(context, nil)
            try drain()
        }
    }
}
