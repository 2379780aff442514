import CFFmpeg
import MouthpieceCore

/// libswscale conversions between FFmpeg frames and `RGBImage`, and RGB resizing.
public enum PixelConverter {
    /// Converts a decoded frame of any pixel format to packed RGB at its own size.
    static func toRGB(_ frame: UnsafeMutablePointer<AVFrame>) throws -> RGBImage {
        let width = Int(frame.pointee.width)
        let height = Int(frame.pointee.height)
        let (format, fullRange) = sourceFormat(frame)
        guard
            let scaler = sws_getContext(
                Int32(width), Int32(height), format, Int32(width), Int32(height), AV_PIX_FMT_RGB24,
                SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nil, nil, nil)
        else {
            throw MouthpieceError(.unsupportedImage, "The image's pixel format is not supported.", field: "image")
        }
        defer { sws_freeContext(scaler) }
        if fullRange {
            let coefficients = sws_getCoefficients(SWS_CS_DEFAULT)
            sws_setColorspaceDetails(scaler, coefficients, 1, coefficients, 1, 0, 1 << 16, 1 << 16)
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        pixels.withUnsafeMutableBufferPointer { out in
            var dst: [UnsafeMutablePointer<UInt8>?] = [out.baseAddress, nil, nil, nil]
            var dstStride: [Int32] = [Int32(width * 3), 0, 0, 0]
            withUnsafePointer(to: &frame.pointee.data) { dataTuple in
                dataTuple.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { src in
                    withUnsafePointer(to: &frame.pointee.linesize) { strideTuple in
                        strideTuple.withMemoryRebound(to: Int32.self, capacity: 8) { srcStride in
                            _ = sws_scale(scaler, src, srcStride, 0, Int32(height), &dst, &dstStride)
                        }
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// A decoded frame's pixel format as swscale wants it, and whether it is full range: JPEG's
    /// full-range YUV formats are deprecated names for the plain ones with the range set.
    static func sourceFormat(_ frame: UnsafeMutablePointer<AVFrame>) -> (AVPixelFormat, fullRange: Bool) {
        let format = AVPixelFormat(frame.pointee.format)
        let fullRange = frame.pointee.color_range == AVCOL_RANGE_JPEG
        switch format {
        case AV_PIX_FMT_YUVJ420P: return (AV_PIX_FMT_YUV420P, true)
        case AV_PIX_FMT_YUVJ422P: return (AV_PIX_FMT_YUV422P, true)
        case AV_PIX_FMT_YUVJ444P: return (AV_PIX_FMT_YUV444P, true)
        case AV_PIX_FMT_YUVJ440P: return (AV_PIX_FMT_YUV440P, true)
        default: return (format, fullRange)
        }
    }

    /// Resamples a region of `image` (`source`, in pixels) to `width` x `height` with a
    /// high-quality filter (Lanczos for shrinking, bicubic for enlarging).
    public static func resize(
        _ image: RGBImage, source: (x: Int, y: Int, width: Int, height: Int)? = nil, width: Int, height: Int
    ) -> RGBImage {
        let region = source ?? (0, 0, image.width, image.height)
        precondition(
            region.x >= 0 && region.y >= 0 && region.width > 0 && region.height > 0
                && region.x + region.width <= image.width && region.y + region.height <= image.height,
            "resize region outside the picture")
        if region == (0, 0, image.width, image.height), width == image.width, height == image.height {
            return image
        }
        let shrinking = width < region.width
        guard
            let scaler = sws_getContext(
                Int32(region.width), Int32(region.height), AV_PIX_FMT_RGB24, Int32(width), Int32(height),
                AV_PIX_FMT_RGB24, (shrinking ? SWS_LANCZOS : SWS_BICUBIC) | SWS_ACCURATE_RND, nil, nil, nil)
        else { preconditionFailure("swscale refused an RGB24 resize") }
        defer { sws_freeContext(scaler) }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        image.pixels.withUnsafeBufferPointer { input in
            pixels.withUnsafeMutableBufferPointer { out in
                var src: [UnsafePointer<UInt8>?] = [
                    input.baseAddress! + (region.y * image.width + region.x) * 3, nil, nil, nil,
                ]
                var srcStride: [Int32] = [Int32(image.width * 3), 0, 0, 0]
                var dst: [UnsafeMutablePointer<UInt8>?] = [out.baseAddress, nil, nil, nil]
                var dstStride: [Int32] = [Int32(width * 3), 0, 0, 0]
                _ = sws_scale(scaler, &src, &srcStride, 0, Int32(region.height), &dst, &dstStride)
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// RGB -> YUV 4:2:0, BT.709 limited range: the one conversion a frame goes through.
    public static func toYUV(_ image: RGBImage) -> YUVImage {
        precondition(image.width % 2 == 0 && image.height % 2 == 0, "YUV 4:2:0 needs even sizes")
        let scaler = rgbToYUVScaler(width: image.width, height: image.height)
        defer { sws_freeContext(scaler) }
        var y = [UInt8](repeating: 0, count: image.width * image.height)
        var u = [UInt8](repeating: 0, count: image.width * image.height / 4)
        var v = u
        image.pixels.withUnsafeBufferPointer { rgb in
            y.withUnsafeMutableBufferPointer { yp in
                u.withUnsafeMutableBufferPointer { up in
                    v.withUnsafeMutableBufferPointer { vp in
                        var src: [UnsafePointer<UInt8>?] = [rgb.baseAddress, nil, nil, nil]
                        var srcStride: [Int32] = [Int32(image.stride), 0, 0, 0]
                        var dst: [UnsafeMutablePointer<UInt8>?] = [yp.baseAddress, up.baseAddress, vp.baseAddress, nil]
                        var dstStride: [Int32] = [
                            Int32(image.width), Int32(image.width / 2), Int32(image.width / 2), 0,
                        ]
                        _ = sws_scale(scaler, &src, &srcStride, 0, Int32(image.height), &dst, &dstStride)
                    }
                }
            }
        }
        return YUVImage(width: image.width, height: image.height, y: y, u: u, v: v)
    }

    /// Resamples a region of a YUV 4:2:0 picture (`source`, even-aligned) to `width` x `height`
    /// (even), plane by plane, with the same filters as the RGB resize.
    public static func resize(
        _ image: YUVImage, source region: (x: Int, y: Int, width: Int, height: Int), width: Int, height: Int
    ) -> YUVImage {
        precondition(
            region.x >= 0 && region.y >= 0 && region.x % 2 == 0 && region.y % 2 == 0 && region.width >= 2
                && region.height >= 2 && region.x + region.width <= image.width
                && region.y + region.height <= image.height && width % 2 == 0 && height % 2 == 0,
            "YUV resize region outside the picture or odd")
        let shrinking = width < region.width
        guard
            let scaler = sws_getContext(
                Int32(region.width), Int32(region.height), AV_PIX_FMT_YUV420P, Int32(width), Int32(height),
                AV_PIX_FMT_YUV420P, (shrinking ? SWS_LANCZOS : SWS_BICUBIC) | SWS_ACCURATE_RND, nil, nil, nil)
        else { preconditionFailure("swscale refused a YUV resize") }
        defer { sws_freeContext(scaler) }
        // Room past the last row for swscale's vector code, cut off after.
        var y = [UInt8](repeating: 0, count: width * (height + 1) + 64)
        var u = [UInt8](repeating: 128, count: width / 2 * (height / 2 + 1) + 64)
        var v = u
        image.y.withUnsafeBufferPointer { sy in
            image.u.withUnsafeBufferPointer { su in
                image.v.withUnsafeBufferPointer { sv in
                    y.withUnsafeMutableBufferPointer { dy in
                        u.withUnsafeMutableBufferPointer { du in
                            v.withUnsafeMutableBufferPointer { dv in
                                let cw = image.chromaWidth
                                var src: [UnsafePointer<UInt8>?] = [
                                    sy.baseAddress! + region.y * image.width + region.x,
                                    su.baseAddress! + region.y / 2 * cw + region.x / 2,
                                    sv.baseAddress! + region.y / 2 * cw + region.x / 2, nil,
                                ]
                                var srcStride: [Int32] = [Int32(image.width), Int32(cw), Int32(cw), 0]
                                var dst: [UnsafeMutablePointer<UInt8>?] = [
                                    dy.baseAddress, du.baseAddress, dv.baseAddress, nil,
                                ]
                                var dstStride: [Int32] = [Int32(width), Int32(width / 2), Int32(width / 2), 0]
                                _ = sws_scale(scaler, &src, &srcStride, 0, Int32(region.height), &dst, &dstStride)
                            }
                        }
                    }
                }
            }
        }
        y.removeLast(y.count - width * height)
        u.removeLast(u.count - width * height / 4)
        v.removeLast(v.count - width * height / 4)
        return YUVImage(width: width, height: height, y: y, u: u, v: v)
    }

    /// YUV 4:2:0 (BT.709 limited range, as our frames are) -> RGB.
    public static func toRGB(_ image: YUVImage) -> RGBImage {
        guard
            let scaler = sws_getContext(
                Int32(image.width), Int32(image.height), AV_PIX_FMT_YUV420P, Int32(image.width), Int32(image.height),
                AV_PIX_FMT_RGB24, SWS_BILINEAR, nil, nil, nil)
        else { preconditionFailure("swscale refused a YUV to RGB conversion") }
        defer { sws_freeContext(scaler) }
        if let coefficients = sws_getCoefficients(SWS_CS_ITU709) {
            sws_setColorspaceDetails(scaler, coefficients, 0, coefficients, 1, 0, 1 << 16, 1 << 16)
        }
        // swscale's vector code may write a little past the last row: room for it, cut off after.
        var pixels = [UInt8](repeating: 0, count: (image.height + 1) * image.width * 3 + 64)
        image.y.withUnsafeBufferPointer { sy in
            image.u.withUnsafeBufferPointer { su in
                image.v.withUnsafeBufferPointer { sv in
                    pixels.withUnsafeMutableBufferPointer { out in
                        var src: [UnsafePointer<UInt8>?] = [sy.baseAddress, su.baseAddress, sv.baseAddress, nil]
                        var srcStride: [Int32] = [
                            Int32(image.width), Int32(image.chromaWidth), Int32(image.chromaWidth), 0,
                        ]
                        var dst: [UnsafeMutablePointer<UInt8>?] = [out.baseAddress, nil, nil, nil]
                        var dstStride: [Int32] = [Int32(image.width * 3), 0, 0, 0]
                        _ = sws_scale(scaler, &src, &srcStride, 0, Int32(image.height), &dst, &dstStride)
                    }
                }
            }
        }
        pixels.removeLast(pixels.count - image.width * image.height * 3)
        return RGBImage(width: image.width, height: image.height, pixels: pixels)
    }

    static func rgbToYUVScaler(width: Int, height: Int) -> OpaquePointer? {
        let scaler = sws_getContext(
            Int32(width), Int32(height), AV_PIX_FMT_RGB24, Int32(width), Int32(height), AV_PIX_FMT_YUV420P,
            SWS_BILINEAR, nil, nil, nil)
        if let coefficients = sws_getCoefficients(SWS_CS_ITU709) {
            sws_setColorspaceDetails(scaler, coefficients, 1, coefficients, 0, 0, 1 << 16, 1 << 16)
        }
        return scaler
    }
}
