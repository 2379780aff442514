/// A picture's size read from its header, before anything is decoded: a small file can announce
/// an enormous picture (a 2 MB PNG of 16000x16000), and the decoder would allocate it all.
enum ImageHeader {
    /// Width and height as the header announces them, or nil when the header cannot be read.
    static func dimensions(_ bytes: [UInt8], format: ImageDecoder.Format) -> (width: Int, height: Int)? {
        switch format {
        case .png: return png(bytes)
        case .jpeg: return jpeg(bytes)
        case .webp: return webp(bytes)
        }
    }

    private static func bigEndian(_ b: [UInt8], _ at: Int, _ count: Int) -> Int? {
        guard at >= 0, at + count <= b.count else { return nil }
        return b[at..<at + count].reduce(0) { $0 << 8 | Int($1) }
    }

    private static func littleEndian(_ b: [UInt8], _ at: Int, _ count: Int) -> Int? {
        guard at >= 0, at + count <= b.count else { return nil }
        return b[at..<at + count].reversed().reduce(0) { $0 << 8 | Int($1) }
    }

    /// The first chunk is IHDR: width and height as 32-bit big-endian numbers.
    private static func png(_ b: [UInt8]) -> (width: Int, height: Int)? {
        guard b.count >= 24, b[12..<16].elementsEqual(Array("IHDR".utf8)),
            let width = bigEndian(b, 16, 4), let height = bigEndian(b, 20, 4)
        else { return nil }
        return (width, height)
    }

    /// Walks the markers to the first start-of-frame segment (SOF0...SOF15 but DHT, JPG and DAC).
    private static func jpeg(_ b: [UInt8]) -> (width: Int, height: Int)? {
        var i = 2
        while i + 3 < b.count {
            guard b[i] == 0xFF else { return nil }
            let marker = b[i + 1]
            if marker == 0xFF {  // fill byte
                i += 1
                continue
            }
            // Markers without a length: TEM, RSTn, SOI, EOI.
            if marker == 0x01 || (0xD0...0xD9).contains(marker) {
                i += 2
                continue
            }
            guard let length = bigEndian(b, i + 2, 2), length >= 2 else { return nil }
            if (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) {
                guard let height = bigEndian(b, i + 5, 2), let width = bigEndian(b, i + 7, 2) else { return nil }
                return (width, height)
            }
            i += 2 + length
        }
        return nil
    }

    /// VP8 (lossy key frame), VP8L (lossless) or VP8X (extended: the canvas size).
    private static func webp(_ b: [UInt8]) -> (width: Int, height: Int)? {
        guard b.count >= 30 else { return nil }
        let chunk = String(decoding: b[12..<16], as: UTF8.self)
        switch chunk {
        case "VP8 ":
            guard b[23] == 0x9D, b[24] == 0x01, b[25] == 0x2A,
                let width = littleEndian(b, 26, 2), let height = littleEndian(b, 28, 2)
            else { return nil }
            return (width & 0x3FFF, height & 0x3FFF)
        case "VP8L":
            guard b[20] == 0x2F, let bits = littleEndian(b, 21, 4) else { return nil }
            return ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        case "VP8X":
            guard let width = littleEndian(b, 24, 3), let height = littleEndian(b, 27, 3) else { return nil }
            return (width + 1, height + 1)
        default:
            return nil
        }
    }
}
