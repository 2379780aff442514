import MouthpieceCore

/// A grid of frames from across a clip, cropped to the face, so that anyone can see the mouth at a
/// glance: left to right, top to bottom, evenly spaced in time.
public struct ContactSheet: Sendable {
    /// The frame index shown in each tile, in order.
    public let frames: [Int]
    public let columns: Int
    let region: (x0: Int, y0: Int, x1: Int, y1: Int)
    let tileWidth: Int
    let tileHeight: Int
    public private(set) var image: RGBImage

    public static let gap = 4

    /// `region` is the part of each frame to show (the face); tiles are `tileWidth` wide.
    public init(
        frameCount: Int, region: (x0: Int, y0: Int, x1: Int, y1: Int), tiles: Int = 12, columns: Int = 4,
        tileWidth: Int = 240
    ) {
        let count = max(1, min(tiles, frameCount))
        // Centred in equal slices of the clip: the first and last frames are often still silence.
        frames = (0..<count).map { min(frameCount - 1, Int((Double($0) + 0.5) * Double(frameCount) / Double(count))) }
        self.columns = min(columns, count)
        self.region = region
        self.tileWidth = tileWidth
        let aspect = Double(max(1, region.y1 - region.y0)) / Double(max(1, region.x1 - region.x0))
        tileHeight = max(1, Int((Double(tileWidth) * aspect).rounded()))
        let rows = (count + self.columns - 1) / self.columns
        image = RGBImage(
            width: self.columns * tileWidth + (self.columns + 1) * Self.gap,
            height: rows * tileHeight + (rows + 1) * Self.gap, fill: (24, 24, 24))
    }

    /// Draws `frame` into its tile when `index` is one of `frames`.
    public mutating func capture(_ frame: YUVImage, index: Int) {
        guard let slot = frames.firstIndex(of: index) else { return }
        let ox = Self.gap + (slot % columns) * (tileWidth + Self.gap)
        let oy = Self.gap + (slot / columns) * (tileHeight + Self.gap)
        let sx = Double(region.x1 - region.x0) / Double(tileWidth)
        let sy = Double(region.y1 - region.y0) / Double(tileHeight)
        // A box filter over up to 4 x 4 samples of each tile pixel's footprint.
        let n = min(4, max(1, Int(max(sx, sy).rounded(.up))))
        for ty in 0..<tileHeight {
            for tx in 0..<tileWidth {
                var sum = (0, 0, 0)
                for j in 0..<n {
                    let y = min(frame.height - 1, region.y0 + Int((Double(ty) + (Double(j) + 0.5) / Double(n)) * sy))
                    for i in 0..<n {
                        let x = min(frame.width - 1, region.x0 + Int((Double(tx) + (Double(i) + 0.5) / Double(n)) * sx))
                        let (r, g, b) = frame.rgb(x: x, y: y)
                        sum = (sum.0 + Int(r), sum.1 + Int(g), sum.2 + Int(b))
                    }
                }
                let o = (oy + ty) * image.stride + (ox + tx) * 3
                let count = n * n
                image.pixels[o] = UInt8((sum.0 + count / 2) / count)
                image.pixels[o + 1] = UInt8((sum.1 + count / 2) / count)
                image.pixels[o + 2] = UInt8((sum.2 + count / 2) / count)
            }
        }
    }
}
