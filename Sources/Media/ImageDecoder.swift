import CFFmpeg
import Foundation
import MouthpieceCore

/// Decodes a portrait (JPEG, PNG or WebP) to RGB, chosen by the file's content, never its name.
public enum ImageDecoder {
    /// The picture formats Mouthpiece reads.
    public enum Format: String, Sendable {
        case jpeg, png, webp
    }

    /// Limits on what is accepted; the defaults are the product's.
    public struct Limits: Sendable {
        public var maxBytes: Int
        public var maxPixels: Int

        public init(maxBytes: Int = 20 * 1024 * 1024, maxPixels: Int = 40_000_000) {
            self.maxBytes = maxBytes
            self.maxPixels = maxPixels
        }
    }

    /// The format the first bytes announce, or nil.
    public static func sniff(_ bytes: [UInt8]) -> Format? {
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF { return .jpeg }
        if bytes.count >= 8, bytes[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            return .png
        }
        if bytes.count >= 12, bytes[0..<4].elementsEqual(Array("RIFF".utf8)),
            bytes[8..<12].elementsEqual(Array("WEBP".utf8))
        {
            return .webp
        }
        return nil
    }

    /// Checks a file's kind and size from its first bytes and header alone, without decoding:
    /// `unsupported_image` or `image_too_large` at once, for a service checking an upload.
    public static func checkHeader(bytes: [UInt8], limits: Limits = Limits()) throws {
        if bytes.count > limits.maxBytes {
            throw MouthpieceError(
                .imageTooLarge, "The image is larger than \(limits.maxBytes / 1_048_576) MB.", field: "image")
        }
        guard let format = sniff(bytes) else {
            throw MouthpieceError(.unsupportedImage, "The image is not a JPEG, PNG or WebP file.", field: "image")
        }
        if let size = ImageHeader.dimensions(bytes, format: format) {
            try checkPixels(width: size.width, height: size.height, limits: limits)
        }
    }

    /// Reads and decodes the file at `path`.
    public static func decode(path: String, limits: Limits = Limits()) throws -> RGBImage {
        guard FileManager.default.fileExists(atPath: path) else {
            throw MouthpieceError(.inputNotFound, "The image \(path) does not exist.", field: "image")
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if let size = attributes?[.size] as? Int, size > limits.maxBytes {
            throw MouthpieceError(
                .imageTooLarge,
                "The image is \(size / 1_048_576) MB; the limit is \(limits.maxBytes / 1_048_576) MB.",
                field: "image")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MouthpieceError(.unsupportedImage, "The image \(path) could not be read.", field: "image")
        }
        return try decode(bytes: [UInt8](data), limits: limits)
    }

    /// Decodes an in-memory JPEG, PNG or WebP file.
    public static func decode(bytes: [UInt8], limits: Limits = Limits()) throws -> RGBImage {
        _ = FFmpegLogging.quiet
        if bytes.count > limits.maxBytes {
            throw MouthpieceError(
                .imageTooLarge, "The image is larger than \(limits.maxBytes / 1_048_576) MB.", field: "image")
        }
        guard let format = sniff(bytes) else {
            throw MouthpieceError(
                .unsupportedImage, "The image is not a JPEG, PNG or WebP file.", field: "image")
        }
        // The size is checked from the header, before the decoder allocates anything; the
        // decoder is also told the limit, for a header that lies or could not be read here.
        if let size = ImageHeader.dimensions(bytes, format: format) {
            try checkPixels(width: size.width, height: size.height, limits: limits)
        }
        let codecID: AVCodecID
        switch format {
        case .jpeg: codecID = AV_CODEC_ID_MJPEG
        case .png: codecID = AV_CODEC_ID_PNG
        case .webp: codecID = AV_CODEC_ID_WEBP
        }
        guard let codec = avcodec_find_decoder(codecID) else {
            throw MouthpieceError(.internalError, "FFmpeg has no \(format.rawValue) decoder.")
        }
        var owned = avcodec_alloc_context3(codec)
        defer { avcodec_free_context(&owned) }
        guard let context = owned else { throw MouthpieceError(.internalError, "Out of memory.") }
        // Images decode in one packet; one thread keeps decoding deterministic and cheap.
        context.pointee.thread_count = 1
        context.pointee.max_pixels = Int64(limits.maxPixels)
        guard avcodec_open2(context, codec, nil) >= 0 else {
            throw MouthpieceError(.internalError, "The \(format.rawValue) decoder could not be opened.")
        }
        var ownedPacket = av_packet_alloc()
        var ownedFrame = av_frame_alloc()
        defer {
            av_packet_free(&ownedPacket)
            av_frame_free(&ownedFrame)
        }
        guard let packet = ownedPacket, let frame = ownedFrame else {
            throw MouthpieceError(.internalError, "Out of memory.")
        }
        // The packet owns a padded copy of the file: decoders read past the end.
        guard av_new_packet(packet, Int32(bytes.count)) >= 0 else {
            throw MouthpieceError(.internalError, "Out of memory.")
        }
        bytes.withUnsafeBufferPointer { src in
            packet.pointee.data.update(from: src.baseAddress!, count: bytes.count)
        }
        let corrupt = MouthpieceError(
            .unsupportedImage, "The \(format.rawValue.uppercased()) image is damaged or incomplete.", field: "image")
        let sent = avcodec_send_packet(context, packet)
        // Over max_pixels the decoder refuses with EINVAL before allocating.
        if sent < 0, limits.maxPixels < Int(context.pointee.width) * Int(context.pointee.height) {
            try checkPixels(width: Int(context.pointee.width), height: Int(context.pointee.height), limits: limits)
        }
        guard sent >= 0 else { throw corrupt }
        avcodec_send_packet(context, nil)
        guard avcodec_receive_frame(context, frame) >= 0 else { throw corrupt }

        let width = Int(frame.pointee.width)
        let height = Int(frame.pointee.height)
        guard width > 0, height > 0 else { throw corrupt }
        try checkPixels(width: width, height: height, limits: limits)
        // EXIF orientation (JPEG): FFmpeg reports the tag; the pixels are stored as shot.
        var orientation = 1
        if let entry = av_dict_get(frame.pointee.metadata, "Orientation", nil, 0) {
            orientation = Int(String(cString: entry.pointee.value).trimmingCharacters(in: .whitespaces)) ?? 1
        }
        return try PixelConverter.toRGB(frame).uprighted(exifOrientation: orientation)
    }

    /// Throws `image_too_large` when the picture has more pixels than the limit allows.
    static func checkPixels(width: Int, height: Int, limits: Limits) throws {
        guard
            width.multipliedReportingOverflow(by: height).partialValue > limits.maxPixels
                || width.multipliedReportingOverflow(by: height).overflow
        else { return }
        throw MouthpieceError(
            .imageTooLarge,
            "The image is \(width)x\(height) (\((Double(width) * Double(height) / 1e6).formatted(1)) megapixels); "
                + "the limit is \((Double(limits.maxPixels) / 1e6).formatted(1)) megapixels.",
            field: "image")
    }
}
