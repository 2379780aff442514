import Foundation
import MouthpieceCore

/// A visible mark drawn into every frame: a short text or a PNG, in a corner, see-through.
public struct Watermark: Equatable, Sendable {
    public enum Mark: Equatable, Sendable {
        /// Letters, digits, spaces and `. - _ @ © ® ™ & + #` only (the filter takes them as they are).
        case text(String)
        /// A PNG (its alpha kept), scaled to the mark's height.
        case image(path: String)
    }

    public enum Corner: String, Equatable, Sendable, CaseIterable {
        case bottomRight = "bottom-right", bottomLeft = "bottom-left", topRight = "top-right", topLeft = "top-left"
    }

    public var mark: Mark
    public var corner: Corner
    /// 0 (invisible) ... 1 (opaque).
    public var opacity: Double
    /// The mark's height as a share of the frame's.
    public var heightShare = 0.045
    /// An image mark's width over its height (read from the PNG when the mark is made).
    var imageAspect = 1.0

    public init(_ mark: Mark, corner: Corner = .bottomRight, opacity: Double = 0.6) throws {
        guard opacity.isFinite, (0.05...1).contains(opacity) else {
            throw MouthpieceError(
                .invalidParameter, "The watermark's opacity must be between 0.05 and 1.", field: "opacity")
        }
        switch mark {
        case .text(let text):
            let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: " .-_@©®™&+#"))
            guard !text.isEmpty, text.count <= 60, text.unicodeScalars.allSatisfy(allowed.contains) else {
                throw MouthpieceError(
                    .invalidParameter,
                    "A text watermark is 1 to 60 letters, digits, spaces or . - _ @ © ® ™ & + #.", field: "watermark")
            }
        case .image(let path):
            guard let data = FileManager.default.contents(atPath: path), ImageDecoder.sniff([UInt8](data)) == .png,
                let size = ImageHeader.dimensions([UInt8](data), format: .png), size.height > 0
            else {
                throw MouthpieceError(
                    .invalidParameter, "The watermark image \(path) is not a PNG.", field: "watermark")
            }
            imageAspect = Double(size.width) / Double(size.height)
        }
        self.mark = mark
        self.corner = corner
        self.opacity = opacity
    }

    var imagePath: String? { if case .image(let path) = mark { path } else { nil } }

    /// Pixels between the mark and the frame's edges.
    func margin(height: Int) -> Int { max(8, Int((Double(height) * 0.03).rounded())) }

    func markHeight(height: Int) -> Int { max(10, Int((Double(height) * heightShare).rounded())) }

    /// Where the mark lands in a `width` x `height` frame (a text mark's width estimated from its
    /// length: DejaVu Sans Bold averages 0.62 of its size per character).
    public func box(width: Int, height: Int) -> Rect {
        let h = Double(markHeight(height: height))
        let w: Double =
            switch mark {
            case .text(let text): h * 0.62 * Double(text.count)
            case .image: h * imageAspect
            }
        let m = Double(margin(height: height))
        let x = corner == .bottomLeft || corner == .topLeft ? m : Double(width) - w - m
        let y = corner == .topLeft || corner == .topRight ? m : Double(height) - h - m
        return Rect(x: x, y: y, width: w, height: h)
    }

    /// The same mark in its own corner if that stays clear of `keepClear` (the face), else in the
    /// first other corner that does (bottom right, bottom left, top right, top left); if none
    /// does, in the corner farthest from it.
    public func avoiding(_ keepClear: Rect, width: Int, height: Int) -> Watermark {
        func overlaps(_ a: Rect, _ b: Rect) -> Bool {
            a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
        }
        func distance(_ a: Rect) -> Double {
            let dx = (a.x + a.width / 2) - (keepClear.x + keepClear.width / 2)
            let dy = (a.y + a.height / 2) - (keepClear.y + keepClear.height / 2)
            return dx * dx + dy * dy
        }
        let candidates = ([corner] + Corner.allCases.filter { $0 != corner }).map { corner -> Watermark in
            var moved = self
            moved.corner = corner
            return moved
        }
        if let clear = candidates.first(where: { !overlaps($0.box(width: width, height: height), keepClear) }) {
            return clear
        }
        return candidates.max {
            distance($0.box(width: width, height: height)) < distance($1.box(width: width, height: height))
        }!
    }

    private func position(width: Int, height: Int, markWidth: String, markHeight: String) -> (x: String, y: String) {
        let m = margin(height: height)
        let x = corner == .bottomLeft || corner == .topLeft ? "\(m)" : "\(width)-\(markWidth)-\(m)"
        let y = corner == .topLeft || corner == .topRight ? "\(m)" : "\(height)-\(markHeight)-\(m)"
        return (x, y)
    }

    /// The `drawtext` filter of a text mark (nil for an image).
    func drawText(width: Int, height: Int) -> String? {
        guard case .text(let text) = mark else { return nil }
        let (x, y) = position(width: width, height: height, markWidth: "tw", markHeight: "th")
        let font = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
        let face = FileManager.default.fileExists(atPath: font) ? "fontfile=\(font)" : "font=DejaVu Sans"
        let alpha = (opacity * 100).rounded() / 100
        return "drawtext=\(face):text='\(text)':fontsize=\(markHeight(height: height)):fontcolor=white@\(alpha)"
            + ":shadowcolor=black@\((alpha * 0.7 * 100).rounded() / 100):shadowx=2:shadowy=2:x=\(x):y=\(y)"
    }

    /// The `movie` + `overlay` chains of an image mark, from `[base]` to `[out]` (nil for text).
    func overlay(width: Int, height: Int) -> String? {
        guard case .image(let path) = mark else { return nil }
        let (x, y) = position(width: width, height: height, markWidth: "w", markHeight: "h")
        return "movie=filename=\(path),format=rgba,scale=-2:\(markHeight(height: height)),"
            + "colorchannelmixer=aa=\(opacity)[mark];[base][mark]overlay=x=\(x):y=\(y):format=yuv420[out]"
    }
}
