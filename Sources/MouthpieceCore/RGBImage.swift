import Foundation

/// A packed 8-bit RGB picture, rows top to bottom, no padding between rows.
///
/// The working format of every stage between decode and encode.
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 3, "bad image size")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A picture filled with one colour.
    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        self.width = width
        self.height = height
        var row = [UInt8](repeating: 0, count: width * height * 3)
        var i = 0
        while i < row.count {
            row[i] = fill.0
            row[i + 1] = fill.1
            row[i + 2] = fill.2
            i += 3
        }
        self.pixels = row
    }

    public var stride: Int { width * 3 }

    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        get {
            let i = (y * width + x) * 3
            return (pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set {
            let i = (y * width + x) * 3
            pixels[i] = newValue.0
            pixels[i + 1] = newValue.1
            pixels[i + 2] = newValue.2
        }
    }

    /// The rectangle `[x0, x0 + w) x [y0, y0 + h)` as a new picture (clamped to the image).
    public func cropped(x x0: Int, y y0: Int, width w: Int, height h: Int) -> RGBImage {
        let cx = max(0, min(x0, width - 1))
        let cy = max(0, min(y0, height - 1))
        let cw = max(1, min(w, width - cx))
        let ch = max(1, min(h, height - cy))
        var out = [UInt8](repeating: 0, count: cw * ch * 3)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for row in 0..<ch {
                    let s = ((cy + row) * width + cx) * 3
                    let d = row * cw * 3
                    for k in 0..<(cw * 3) { dst[d + k] = src[s + k] }
                }
            }
        }
        return RGBImage(width: cw, height: ch, pixels: out)
    }

    /// Mean luminance (0...255) over a rectangle, clamped to the picture.
    public func meanLuma(in rect: Rect) -> Double {
        let x0 = max(0, Int(rect.minX)), x1 = min(width, Int(rect.maxX))
        let y0 = max(0, Int(rect.minY)), y1 = min(height, Int(rect.maxY))
        guard x1 > x0, y1 > y0 else { return 0 }
        var sum = 0.0
        for y in y0..<y1 {
            for x in x0..<x1 {
                let p = self[x, y]
                sum += 0.299 * Double(p.0) + 0.587 * Double(p.1) + 0.114 * Double(p.2)
            }
        }
        return sum / Double((x1 - x0) * (y1 - y0))
    }
}

extension RGBImage {
    /// The picture turned upright according to an EXIF orientation tag (1...8): phones store
    /// portraits sideways and say so in the tag. Other values return the picture unchanged.
    public func uprighted(exifOrientation orientation: Int) -> RGBImage {
        guard (2...8).contains(orientation) else { return self }
        let (w, h) = (width, height)
        let swaps = orientation >= 5
        let outWidth = swaps ? h : w
        let outHeight = swaps ? w : h
        var out = [UInt8](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let (sx, sy): (Int, Int)
                        switch orientation {
                        case 2: (sx, sy) = (w - 1 - x, y)
                        case 3: (sx, sy) = (w - 1 - x, h - 1 - y)
                        case 4: (sx, sy) = (x, h - 1 - y)
                        case 5: (sx, sy) = (y, x)
                        case 6: (sx, sy) = (y, h - 1 - x)
                        case 7: (sx, sy) = (w - 1 - y, h - 1 - x)
                        default: (sx, sy) = (w - 1 - y, x)
                        }
                        let s = (sy * w + sx) * 3
                        let d = (y * outWidth + x) * 3
                        dst[d] = src[s]
                        dst[d + 1] = src[s + 1]
                        dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: out)
    }
}

extension RGBImage {
    /// Left and right swapped.
    public func mirrored() -> RGBImage {
        var out = self
        for y in 0..<height {
            let row = y * stride
            for x in 0..<width {
                let (o, i) = (row + x * 3, row + (width - 1 - x) * 3)
                out.pixels[o] = pixels[i]
                out.pixels[o + 1] = pixels[i + 1]
                out.pixels[o + 2] = pixels[i + 2]
            }
        }
        return out
    }

    /// Turned clockwise by `angle` radians about the centre, the same size (corners cut off,
    /// edges extended into what the turn uncovers), bilinear.
    public func rotated(by angle: Double) -> RGBImage {
        var out = [UInt8](repeating: 0, count: pixels.count)
        let (c, s) = (cos(angle), sin(angle))
        let (cx, cy) = (Double(width) / 2, Double(height) / 2)
        let (w, h, rowBytes) = (width, height, stride)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for y in 0..<h {
                    let dy = Double(y) + 0.5 - cy
                    for x in 0..<w {
                        // The source of an output pixel: turned back by -angle.
                        let dx = Double(x) + 0.5 - cx
                        let sx = cx + dx * c + dy * s - 0.5
                        let sy = cy - dx * s + dy * c - 0.5
                        let x0 = Int(sx.rounded(.down))
                        let y0 = Int(sy.rounded(.down))
                        let fx = sx - Double(x0)
                        let fy = sy - Double(y0)
                        let (xa, xb) = (min(max(x0, 0), w - 1) * 3, min(max(x0 + 1, 0), w - 1) * 3)
                        let (ya, yb) = (min(max(y0, 0), h - 1) * rowBytes, min(max(y0 + 1, 0), h - 1) * rowBytes)
                        let o = y * rowBytes + x * 3
                        for k in 0..<3 {
                            let top = Double(source[ya + xa + k]) * (1 - fx) + Double(source[ya + xb + k]) * fx
                            let bottom = Double(source[yb + xa + k]) * (1 - fx) + Double(source[yb + xb + k]) * fx
                            target[o + k] = UInt8(min(255, max(0, (top * (1 - fy) + bottom * fy).rounded())))
                        }
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
