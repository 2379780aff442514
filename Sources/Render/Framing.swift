import Face
import Media
import MouthpieceCore

/// Output resolution by its short side.
public enum Resolution: String, Sendable, CaseIterable {
    case p480 = "480p", p720 = "720p", p1080 = "1080p"

    public var shortSide: Int {
        switch self {
        case .p480: return 480
        case .p720: return 720
        case .p1080: return 1080
        }
    }
}

/// Output aspect ratio.
public enum Aspect: String, Sendable, CaseIterable {
    case original, landscape = "16:9", portrait = "9:16", square = "1:1"

    /// The frame's size at `resolution` (even sides), or nil for the portrait's own shape.
    public func frameSize(_ resolution: Resolution) -> (width: Int, height: Int)? {
        guard let ratio else { return nil }
        let short = Double(resolution.shortSide)
        return ratio >= 1 ? (Framing.even(short * ratio), Int(short)) : (Int(short), Framing.even(short / ratio))
    }

    /// Width over height, or nil for the portrait's own.
    var ratio: Double? {
        switch self {
        case .original: return nil
        case .landscape: return 16.0 / 9
        case .portrait: return 9.0 / 16
        case .square: return 1
        }
    }
}

/// Where the portrait lands in the output frame: a face-centred crop, or the whole picture with a
/// blurred fill around it when cropping would cut the head.
public struct Framing: Equatable, Sendable {
    public enum Mode: String, Sendable { case fit, crop, pad }

    public let width: Int
    public let height: Int
    public let mode: Mode
    /// Portrait pixels that land in the frame.
    public let source: Rect
    /// Where they land, in output pixels.
    public let destination: Rect

    /// Portrait coordinates to output coordinates.
    public func map(_ p: Point) -> Point {
        Point(
            destination.x + (p.x - source.x) * destination.width / source.width,
            destination.y + (p.y - source.y) * destination.height / source.height)
    }

    public var scale: Double { destination.width / source.width }

    /// Plans the frame for a portrait of `imageWidth` x `imageHeight` with `face` in it.
    public static func plan(
        imageWidth: Int, imageHeight: Int, face: FaceLandmarks, resolution: Resolution, aspect: Aspect
    ) -> Framing {
        guard let (width, height) = aspect.frameSize(resolution) else {
            let w = Double(imageWidth)
            let h = Double(imageHeight)
            let scale = Double(resolution.shortSide) / min(w, h)
            let width = even(w * scale)
            let height = even(h * scale)
            return Framing(
                width: width, height: height, mode: .fit, source: Rect(x: 0, y: 0, width: w, height: h),
                destination: Rect(x: 0, y: 0, width: Double(width), height: Double(height)))
        }
        return plan(imageWidth: imageWidth, imageHeight: imageHeight, face: face, width: width, height: height)
    }

    /// How much of the picture a framed shot shows around the head.
    public enum Shot: String, Sendable, CaseIterable, Codable {
        /// The head with a little room (the crop every render uses).
        case closeUp = "close_up"
        /// Head and shoulders, more of the picture.
        case medium
        /// The whole portrait, fitted, filled around.
        case asIs = "as_is"

        /// The crop's height over the head's (nil: the whole picture).
        var room: Double? {
            switch self {
            case .closeUp: return 1.6
            case .medium: return 2.4
            case .asIs: return nil
            }
        }
    }

    /// Plans a `width` x `height` frame (even sizes) for the portrait: a crop of that shape around
    /// the head as `shot` asks, or the whole picture fitted with a fill where cropping would cut
    /// the head (and always for `.asIs`).
    public static func plan(
        imageWidth: Int, imageHeight: Int, face: FaceLandmarks, width: Int, height: Int, shot: Shot = .closeUp
    ) -> Framing {
        let w = Double(imageWidth)
        let h = Double(imageHeight)
        let ratio = Double(width) / Double(height)
        // A crop of the wanted shape around the head with room to spare (a head-and-shoulders
        // shot), as large as the picture allows but no larger, centred on the face.
        let head = headBox(face)
        let room = shot.room ?? .infinity
        var cropH = max(head.height * room, head.width * room / ratio)
        var cropW = cropH * ratio
        if cropW > w {
            cropW = w
            cropH = w / ratio
        }
        if cropH > h {
            cropH = h
            cropW = h * ratio
        }
        // A medium shot keeps the head in the upper part, the shoulders below it.
        let centre = Point(head.center.x, head.center.y + (shot == .medium ? 0.3 * head.height : 0))
        let x = min(max(0, centre.x - cropW / 2), w - cropW)
        let y = min(max(0, centre.y - cropH / 2), h - cropH)
        let crop = Rect(x: x, y: y, width: cropW, height: cropH)
        if shot != .asIs, crop.contains(head.intersection(Rect(x: 0, y: 0, width: w, height: h))) {
            return Framing(
                width: width, height: height, mode: .crop, source: crop,
                destination: Rect(x: 0, y: 0, width: Double(width), height: Double(height)))
        }
        // Cropping would cut the head: fit the whole portrait and fill around it.
        let scale = min(Double(width) / w, Double(height) / h)
        let dw = Double(even(w * scale))
        let dh = Double(even(h * scale))
        let dx = Double(Int((Double(width) - dw) / 2))
        let dy = Double(Int((Double(height) - dh) / 2))
        return Framing(
            width: width, height: height, mode: .pad, source: Rect(x: 0, y: 0, width: w, height: h),
            destination: Rect(x: dx, y: dy, width: dw, height: dh))
    }

    /// The head with hair and chin: the face's landmarks grown upwards and sideways.
    static func headBox(_ face: FaceLandmarks) -> Rect {
        let box = Rect.bounding(face.points)
        return Rect(
            x: box.x - 0.3 * box.width, y: box.y - 0.55 * box.height, width: box.width * 1.6,
            height: box.height * 1.8)
    }

    /// `source` in whole pixels of a `imageWidth` x `imageHeight` picture, never past its edge;
    /// `even`: on even pixels with even sides (a YUV 4:2:0 picture's chroma grid).
    public func sourceRegion(imageWidth: Int, imageHeight: Int, even: Bool = false) -> (
        x: Int, y: Int, width: Int, height: Int
    ) {
        let step = even ? 2 : 1
        func align(_ v: Int) -> Int { even ? v & ~1 : v }
        let x = align(min(max(0, Int(source.x.rounded())), imageWidth - step))
        let y = align(min(max(0, Int(source.y.rounded())), imageHeight - step))
        return (
            x, y, max(step, align(min(imageWidth - x, Int(source.width.rounded())))),
            max(step, align(min(imageHeight - y, Int(source.height.rounded()))))
        )
    }

    /// The still picture every frame starts from: the portrait resampled into the frame.
    public func baseFrame(from image: RGBImage) -> RGBImage {
        let region = sourceRegion(imageWidth: image.width, imageHeight: image.height)
        let placed = PixelConverter.resize(
            image, source: region, width: Int(destination.width), height: Int(destination.height))
        guard mode == .pad else { return placed }
        // Fill: the portrait stretched over the whole frame, heavily blurred and dimmed.
        let small = PixelConverter.resize(image, width: max(8, width / 16), height: max(8, height / 16))
        var fill = PixelConverter.resize(BoxBlur.blurred(small, radius: 2, passes: 3), width: width, height: height)
        for i in fill.pixels.indices { fill.pixels[i] = UInt8(Int(fill.pixels[i]) * 3 / 4) }
        let dx = Int(destination.x)
        let dy = Int(destination.y)
        for y in 0..<placed.height {
            let s = y * placed.stride
            let d = ((y + dy) * width + dx) * 3
            for k in 0..<placed.stride { fill.pixels[d + k] = placed.pixels[s + k] }
        }
        return fill
    }

    static func even(_ v: Double) -> Int { max(2, Int((v / 2).rounded()) * 2) }
}

/// A separable box blur; a few passes approximate a Gaussian.
enum BoxBlur {
    static func blurred(_ image: RGBImage, radius: Int, passes: Int) -> RGBImage {
        var out = image
        for _ in 0..<passes {
            out = pass(out, dx: 1, dy: 0, radius: radius)
            out = pass(out, dx: 0, dy: 1, radius: radius)
        }
        return out
    }

    private static func pass(_ image: RGBImage, dx: Int, dy: Int, radius: Int) -> RGBImage {
        var out = image
        for y in 0..<image.height {
            for x in 0..<image.width {
                var sum = (0, 0, 0)
                var count = 0
                for k in -radius...radius {
                    let sx = min(image.width - 1, max(0, x + k * dx))
                    let sy = min(image.height - 1, max(0, y + k * dy))
                    let p = image[sx, sy]
                    sum = (sum.0 + Int(p.0), sum.1 + Int(p.1), sum.2 + Int(p.2))
                    count += 1
                }
                out[x, y] = (UInt8(sum.0 / count), UInt8(sum.1 / count), UInt8(sum.2 / count))
            }
        }
        return out
    }
}
