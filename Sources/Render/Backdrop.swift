import Face
import Foundation
import Media
import MouthpieceCore

/// What stands behind the person in a composed shot: the portrait's own background (no
/// backdrop), a colour, a picture, or the portrait's background blurred.
public enum Backdrop: Sendable, Equatable {
    case color(red: UInt8, green: UInt8, blue: UInt8)
    case image(RGBImage)
    case blur

    /// Parses `#rrggbb`.
    public static func color(hex: String) -> Backdrop? {
        let digits = hex.hasPrefix("#") ? String(hex.dropFirst()) : hex
        guard digits.count == 6, let value = UInt32(digits, radix: 16) else { return nil }
        return .color(red: UInt8(value >> 16 & 0xFF), green: UInt8(value >> 8 & 0xFF), blue: UInt8(value & 0xFF))
    }

    /// What stands behind the person in `frame` (the framed portrait), whose matte is `matte`.
    func picture(behind frame: RGBImage, matte: PersonMatte) -> RGBImage {
        let (width, height) = (frame.width, frame.height)
        switch self {
        case .color(let r, let g, let b): return RGBImage(width: width, height: height, fill: (r, g, b))
        case .image(let image):
            // Cover the frame: scaled to fill it, the overflow cut evenly from both sides.
            let scale = max(Double(width) / Double(image.width), Double(height) / Double(image.height))
            let sw = min(image.width, max(1, Int((Double(width) / scale).rounded())))
            let sh = min(image.height, max(1, Int((Double(height) / scale).rounded())))
            return PixelConverter.resize(
                image, source: ((image.width - sw) / 2, (image.height - sh) / 2, sw, sh), width: width, height: height)
        case .blur:
            return matte.blurredBackground(frame)
        }
    }

    /// `frame` with the person kept and everything behind them replaced by this backdrop.
    public func applied(to frame: RGBImage, face: FaceLandmarks) -> RGBImage {
        let matte = PersonMatte.estimate(frame, face: face)
        return matte.composite(frame, over: picture(behind: frame, matte: matte))
    }
}

/// How much of each pixel is the person (1) or the background (0), estimated from the face's
/// landmarks and colour: a head, neck and shoulders shape around the face gives a prior and
/// the pixels surely inside and surely outside it give colour models; the uncertain band between
/// is labelled by both (twice, the models re-learned from the first labelling), smoothed, kept
/// to the part joined to the face with its holes filled, and feathered over a pixel or two.
public struct PersonMatte: Sendable {
    public let width: Int
    public let height: Int
    public var alpha: [Float]

    /// Signed distance (pixels, negative inside) to the head, neck and shoulders shape.
    struct Shape {
        let cx: Double
        let faceWidth: Double
        let head: (cy: Double, a: Double, b: Double)
        let chin: Double
        let faceHeight: Double

        init(_ face: FaceLandmarks) {
            let jaw = FaceLandmarks.jaw.map { face[$0] }
            let brows = (17...26).map { face[$0] }
            let left = jaw.map(\.x).min() ?? 0
            let right = jaw.map(\.x).max() ?? 0
            faceWidth = max(4, right - left)
            cx = (left + right) / 2
            let brow = brows.map(\.y).min() ?? 0
            chin = face[8].y
            faceHeight = max(4, chin - brow)
            // Brow to chin is about two thirds of the head; hair adds a little above and beside.
            let top = brow - 0.95 * faceHeight
            head = (cy: (top + chin) / 2, a: 0.64 * faceWidth, b: (chin - top) / 2)
        }

        func distance(_ x: Double, _ y: Double) -> Double {
            let dx = (x - cx) / head.a
            let dy = (y - head.cy) / head.b
            let toHead = ((dx * dx + dy * dy).squareRoot() - 1) * min(head.a, head.b)
            let neckTop = chin - 0.3 * faceHeight
            let neckBottom = chin + 0.5 * faceHeight
            let toNeck =
                y < neckTop || y > neckBottom
                ? Double.infinity : abs(x - cx) - 0.34 * faceWidth
            let shoulderTop = chin + 0.15 * faceHeight
            var toShoulders = Double.infinity
            if y >= shoulderTop {
                let spread = min(1, (y - shoulderTop) / (0.6 * faceHeight))
                toShoulders = abs(x - cx) - (0.45 + 1.2 * spread) * faceWidth
            }
            return min(toHead, toNeck, toShoulders)
        }
    }

    public static func estimate(_ image: RGBImage, face: FaceLandmarks) -> PersonMatte {
        let (w, h) = (image.width, image.height)
        let shape = Shape(face)
        let unit = shape.faceWidth
        var distance = [Double](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w { distance[y * w + x] = shape.distance(Double(x), Double(y)) }
        }
        let sureInside = -0.25 * unit
        // Background colours are learned beyond `sureOutside`; pixels are labelled out to `reach`
        // (hair may stand well past the head's usual outline), beyond it all is background.
        let sureOutside = 0.3 * unit
        let reach = 0.7 * unit
        // Colour histograms of 16 levels a channel.
        func bin(_ i: Int) -> Int {
            let p = i * 3
            return Int(image.pixels[p] >> 4) << 8 | Int(image.pixels[p + 1] >> 4) << 4 | Int(image.pixels[p + 2] >> 4)
        }
        let bins = (0..<(w * h)).map(bin)
        var person = [Double](repeating: 0, count: 4096)
        var background = [Double](repeating: 0, count: 4096)
        for i in 0..<(w * h) {
            if distance[i] < sureInside { person[bins[i]] += 1 }
            // The background nearest the person says most about what borders them.
            if distance[i] > sureOutside { background[bins[i]] += exp(-(distance[i] - sureOutside) / (0.5 * unit)) }
        }
        var probability = [Float](repeating: 0, count: w * h)
        for round in 0..<2 {
            // A colour seen on one side lends weight to its near neighbours too (a lit patch of
            // background a shade brighter than the rest is still background).
            person = Self.spread(person)
            background = Self.spread(background)
            let personTotal = person.reduce(0, +) + 4096
            let backgroundTotal = background.reduce(0, +) + 4096
            for i in 0..<(w * h) {
                let d = distance[i]
                if d < sureInside {
                    probability[i] = 1
                    continue
                }
                if d > reach {
                    probability[i] = 0
                    continue
                }
                let prior = max(0.05, 1 / (1 + exp(d / (0.08 * unit))))
                let lp = (person[bins[i]] + 1) / personTotal * prior
                let lb = (background[bins[i]] + 1) / backgroundTotal * (1 - prior)
                probability[i] = Float(lp / (lp + lb))
            }
            guard round == 0 else { break }
            // Learn again from the first labelling, the uncertain band included.
            person = [Double](repeating: 0, count: 4096)
            background = [Double](repeating: 0, count: 4096)
            for i in 0..<(w * h) where distance[i] <= reach {
                if probability[i] > 0.5 { person[bins[i]] += 1 } else { background[bins[i]] += 1 }
            }
        }
        let smoothed = Self.blurred(probability, width: w, height: h, radius: max(1, Int(unit * 0.02)), passes: 2)
        var inside = smoothed.map { $0 > 0.5 }
        Self.keepJoined(
            &inside, width: w, height: h, seed: (Int(shape.cx), Int(shape.head.cy)),
            largestHole: Int(unit * unit * 0.01))
        var alpha = inside.map { $0 ? Float(1) : 0 }
        alpha = Self.blurred(alpha, width: w, height: h, radius: max(1, Int(unit * 0.01)), passes: 2)
        return PersonMatte(width: w, height: h, alpha: alpha)
    }

    /// A 16x16x16 colour histogram with each bin's count shared with its 26 neighbours.
    static func spread(_ histogram: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: 4096)
        for r in 0..<16 {
            for g in 0..<16 {
                for b in 0..<16 {
                    var sum = 0.0
                    for nr in max(0, r - 1)...min(15, r + 1) {
                        for ng in max(0, g - 1)...min(15, g + 1) {
                            for nb in max(0, b - 1)...min(15, b + 1) { sum += histogram[nr << 8 | ng << 4 | nb] }
                        }
                    }
                    out[r << 8 | g << 4 | b] = histogram[r << 8 | g << 4 | b] + sum / 27
                }
            }
        }
        return out
    }

    /// Keeps the person part joined to the face and fills its small holes (background joined to
    /// neither the frame's edge nor a larger patch of background, such as the space between an
    /// ear and a shoulder, becomes person).
    static func keepJoined(_ inside: inout [Bool], width w: Int, height h: Int, seed: (Int, Int), largestHole: Int) {
        /// Marks in `seen` the pixels reached from `starts` through pixels passing `test`; answers them.
        func flood(_ starts: [Int], _ seen: inout [Bool], where test: (Int) -> Bool) -> [Int] {
            var stack = starts.filter { !seen[$0] && test($0) }
            for s in stack { seen[s] = true }
            var reached = stack
            while let i = stack.popLast() {
                let x = i % w
                let y = i / w
                for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)]
                where nx >= 0 && ny >= 0 && nx < w && ny < h {
                    let n = ny * w + nx
                    if !seen[n] && test(n) {
                        seen[n] = true
                        stack.append(n)
                        reached.append(n)
                    }
                }
            }
            return reached
        }
        let start = min(max(0, seed.1), h - 1) * w + min(max(0, seed.0), w - 1)
        var joined = [Bool](repeating: false, count: w * h)
        _ = flood([start], &joined) { inside[$0] }
        var edge: [Int] = []
        for x in 0..<w { edge += [x, (h - 1) * w + x] }
        for y in 0..<h { edge += [y * w, y * w + w - 1] }
        var outside = [Bool](repeating: false, count: w * h)
        _ = flood(edge, &outside) { !joined[$0] }
        // Each enclosed patch of background: filled if small, kept as background if not.
        var seen = outside
        for i in 0..<(w * h) where !seen[i] && !joined[i] {
            let patch = flood([i], &seen) { !joined[$0] }
            if patch.count > largestHole { for m in patch { outside[m] = true } }
        }
        for i in 0..<(w * h) { inside[i] = !outside[i] }
    }

    static func blurred(_ values: [Float], width w: Int, height h: Int, radius: Int, passes: Int) -> [Float] {
        var a = values
        var b = values
        for _ in 0..<passes {
            for horizontal in [true, false] {
                let (lines, length) = horizontal ? (h, w) : (w, h)
                for line in 0..<lines {
                    let first = horizontal ? line * w : line
                    let step = horizontal ? 1 : w
                    var sum: Float = 0
                    // A running sum over the window, the edge pixel repeated past the edges.
                    for k in -radius...radius { sum += a[first + min(max(0, k), length - 1) * step] }
                    for n in 0..<length {
                        b[first + n * step] = sum / Float(2 * radius + 1)
                        let out = min(max(0, n - radius), length - 1)
                        let into = min(max(0, n + radius + 1), length - 1)
                        sum += a[first + into * step] - a[first + out * step]
                    }
                }
                swap(&a, &b)
            }
        }
        return a
    }

    /// The picture's background heavily blurred, the person left out of the blur (each pixel the
    /// blur of the background around it alone), so no halo of them spreads around their outline.
    public func blurredBackground(_ image: RGBImage) -> RGBImage {
        // At a twelfth of the size: a wide blur for little work.
        let (sw, sh) = (max(8, width / 12), max(8, height / 12))
        let small = PixelConverter.resize(image, width: sw, height: sh)
        var weight = [Float](repeating: 0, count: sw * sh)
        for y in 0..<sh {
            for x in 0..<sw {
                // The matte's most person-like value over the cell: the outline stays out too.
                var a: Float = 0
                for yy in (y * height / sh)..<max(y * height / sh + 1, (y + 1) * height / sh) {
                    for xx in (x * width / sw)..<max(x * width / sw + 1, (x + 1) * width / sw) {
                        a = max(a, alpha[min(yy, height - 1) * width + min(xx, width - 1)])
                    }
                }
                weight[y * sw + x] = 1 - a
            }
        }
        var planes = (0..<3).map { c in (0..<(sw * sh)).map { Float(small.pixels[$0 * 3 + c]) * weight[$0] } }
        let spread = Self.blurred(weight, width: sw, height: sh, radius: 3, passes: 3)
        for c in 0..<3 { planes[c] = Self.blurred(planes[c], width: sw, height: sh, radius: 3, passes: 3) }
        var out = RGBImage(width: sw, height: sh)
        for i in 0..<(sw * sh) {
            for c in 0..<3 {
                out.pixels[i * 3 + c] =
                    spread[i] > 1e-3
                    ? UInt8(max(0, min(255, (planes[c][i] / spread[i]).rounded()))) : small.pixels[i * 3 + c]
            }
        }
        return PixelConverter.resize(out, width: width, height: height)
    }

    /// `person` over `backdrop` (both the matte's size) by the matte.
    public func composite(_ person: RGBImage, over backdrop: RGBImage) -> RGBImage {
        precondition(person.width == width && person.height == height && backdrop.width == width)
        var out = backdrop
        for i in 0..<(width * height) {
            let a = alpha[i]
            guard a > 0 else { continue }
            for c in 0..<3 {
                let p = i * 3 + c
                out.pixels[p] = UInt8(
                    (Float(person.pixels[p]) * a + Float(backdrop.pixels[p]) * (1 - a)).rounded())
            }
        }
        return out
    }
}
