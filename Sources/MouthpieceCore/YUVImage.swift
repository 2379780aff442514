/// A planar 8-bit YUV 4:2:0 picture (BT.709, limited range): the encoder's own format, and the
/// format frames are rendered in, so that no per-frame colour conversion is needed.
///
/// Chroma planes are half the width and height; chroma sample (i, j) covers luma pixels
/// (2i...2i+1, 2j...2j+1), centred between them.
public struct YUVImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var y: [UInt8]
    public var u: [UInt8]
    public var v: [UInt8]

    public init(width: Int, height: Int, y: [UInt8], u: [UInt8], v: [UInt8]) {
        precondition(width > 0 && height > 0 && width % 2 == 0 && height % 2 == 0, "YUV 4:2:0 needs even sizes")
        precondition(y.count == width * height && u.count == width * height / 4 && v.count == u.count, "bad planes")
        self.width = width
        self.height = height
        self.y = y
        self.u = u
        self.v = v
    }

    public var chromaWidth: Int { width / 2 }
    public var chromaHeight: Int { height / 2 }

    /// Copies `picture` in whole with its top left corner at (`x`, `y`), both even; it must fit.
    public mutating func paste(_ picture: YUVImage, x: Int, y top: Int) {
        precondition(
            x >= 0 && top >= 0 && x % 2 == 0 && top % 2 == 0 && x + picture.width <= width
                && top + picture.height <= height, "a picture pasted outside the frame")
        func copy(_ source: [UInt8], _ target: inout [UInt8], rowLength: Int, rows: Int, stride: Int, x: Int, y: Int) {
            source.withUnsafeBufferPointer { s in
                target.withUnsafeMutableBufferPointer { t in
                    for row in 0..<rows {
                        (t.baseAddress! + (y + row) * stride + x).update(
                            from: s.baseAddress! + row * rowLength, count: rowLength)
                    }
                }
            }
        }
        copy(picture.y, &y, rowLength: picture.width, rows: picture.height, stride: width, x: x, y: top)
        copy(
            picture.u, &u, rowLength: picture.chromaWidth, rows: picture.chromaHeight, stride: chromaWidth, x: x / 2,
            y: top / 2)
        copy(
            picture.v, &v, rowLength: picture.chromaWidth, rows: picture.chromaHeight, stride: chromaWidth, x: x / 2,
            y: top / 2)
    }

    /// Mean luma over a rectangle (luma pixels), clamped to the picture.
    public func meanLuma(in rect: Rect) -> Double {
        let x0 = max(0, Int(rect.minX)), x1 = min(width, Int(rect.maxX))
        let y0 = max(0, Int(rect.minY)), y1 = min(height, Int(rect.maxY))
        guard x1 > x0, y1 > y0 else { return 0 }
        var sum = 0
        for row in y0..<y1 {
            for x in x0..<x1 { sum += Int(y[row * width + x]) }
        }
        return Double(sum) / Double((x1 - x0) * (y1 - y0))
    }

    /// The RGB colour (0...255) at luma pixel (x, y): the inverse of `components`.
    public func rgb(x: Int, y row: Int) -> (UInt8, UInt8, UInt8) {
        let l = (Double(y[row * width + x]) - 16) * 255 / 219
        let c = (row / 2) * chromaWidth + x / 2
        let cb = (Double(u[c]) - 128) * 255 / 224
        let cr = (Double(v[c]) - 128) * 255 / 224
        func byte(_ v: Double) -> UInt8 { UInt8(min(255, max(0, v.rounded()))) }
        return (byte(l + 1.5748 * cr), byte(l - 0.1873 * cb - 0.4681 * cr), byte(l + 1.8556 * cb))
    }

    /// BT.709 limited-range Y, U, V of an RGB colour (components 0...255).
    public static func components(r: Double, g: Double, b: Double) -> (y: Double, u: Double, v: Double) {
        (
            16 + (0.2126 * r + 0.7152 * g + 0.0722 * b) * 219 / 255,
            128 + (-0.1146 * r - 0.3854 * g + 0.5 * b) * 224 / 255,
            128 + (0.5 * r - 0.4542 * g - 0.0458 * b) * 224 / 255
        )
    }
}

extension YUVImage {
    /// The picture turned clockwise by `quarterTurns` quarter turns (any integer; 4 is a no-op).
    public func rotated(clockwiseQuarterTurns quarterTurns: Int) -> YUVImage {
        let turns = ((quarterTurns % 4) + 4) % 4
        guard turns != 0 else { return self }
        func turn(_ plane: [UInt8], _ w: Int, _ h: Int) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: plane.count)
            for row in 0..<h {
                for x in 0..<w {
                    let value = plane[row * w + x]
                    switch turns {
                    case 1: out[x * h + (h - 1 - row)] = value
                    case 2: out[(h - 1 - row) * w + (w - 1 - x)] = value
                    default: out[(w - 1 - x) * h + row] = value
                    }
                }
            }
            return out
        }
        let (w, h) = turns == 2 ? (width, height) : (height, width)
        return YUVImage(
            width: w, height: h, y: turn(y, width, height), u: turn(u, chromaWidth, chromaHeight),
            v: turn(v, chromaWidth, chromaHeight))
    }
}
