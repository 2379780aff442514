import CFFmpeg
import MouthpieceCore

/// Encodes pictures to PNG (overlays, contact sheets, test frames).
public enum ImageEncoder {
    /// The PNG file bytes of `image`.
    public static func png(_ image: RGBImage) throws -> [UInt8] {
        _ = FFmpegLogging.quiet
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_PNG) else {
            throw MouthpieceError(.internalError, "FFmpeg has no PNG encoder.")
        }
        var owned = avcodec_alloc_context3(codec)
        var ownedFrame = av_frame_alloc()
        var ownedPacket = av_packet_alloc()
        defer {
            avcodec_free_context(&owned)
            av_frame_free(&ownedFrame)
            av_packet_free(&ownedPacket)
        }
        guard let context = owned, let frame = ownedFrame, let packet = ownedPacket else {
            throw MouthpieceError(.internalError, "Out of memory.")
        }
        context.pointee.width = Int32(image.width)
        context.pointee.height = Int32(image.height)
        context.pointee.pix_fmt = AV_PIX_FMT_RGB24
        context.pointee.time_base = AVRational(num: 1, den: 1)
        guard avcodec_open2(context, codec, nil) >= 0 else {
            throw MouthpieceError(.internalError, "The PNG encoder could not be opened.")
        }
        frame.pointee.width = Int32(image.width)
        frame.pointee.height = Int32(image.height)
        frame.pointee.format = AV_PIX_FMT_RGB24.rawValue
        guard av_frame_get_buffer(frame, 0) >= 0 else { throw MouthpieceError(.internalError, "Out of memory.") }
        let (data, stride) = plane(frame, 0)
        image.pixels.withUnsafeBufferPointer { src in
            for y in 0..<image.height {
                (data + y * stride).update(from: src.baseAddress! + y * image.stride, count: image.stride)
            }
        }
        guard avcodec_send_frame(context, frame) >= 0, avcodec_receive_packet(context, packet) >= 0 else {
            throw MouthpieceError(.internalError, "PNG encoding failed.")
        }
        return [UInt8](UnsafeBufferPointer(start: packet.pointee.data, count: Int(packet.pointee.size)))
    }
}
