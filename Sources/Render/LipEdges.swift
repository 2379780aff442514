import Face
import MouthpieceCore

/// The inner edges of the lips of a portrait whose mouth is open, found in its pixels.
///
/// dlib's inner-lip points often sit a little inside the teeth, and three points a lip cannot
/// follow a smile's curve; a mouth closed by warping must meet at the lips' own edges, or teeth
/// stay visible between them. So the opening is scanned column by column across the mouth, along
/// the face's vertical, for the places where the lips' colour gives way to the teeth's or the
/// cavity's.
struct LipEdges {
    struct Column {
        /// Position across the face (the rig's `s` coordinate).
        let s: Double
        let upper: Point
        let lower: Point
        /// Opening between the edges along the face's vertical, in pixels (0 where the lips touch).
        let gap: Double
    }

    /// Columns from corner to corner (increasing `s`), including the corners with no gap.
    let columns: [Column]

    /// The opening at `s`, linear between columns, 0 beyond the corners.
    func gap(at s: Double) -> Double {
        guard let first = columns.first, let last = columns.last, s > first.s, s < last.s,
            let (a, b, f) = segment(at: s)
        else { return 0 }
        return a.gap + (b.gap - a.gap) * f
    }

    /// A point on the upper (or lower) edge at `s`, linear between columns.
    func edge(at s: Double, upper: Bool) -> Point? {
        guard let (a, b, f) = segment(at: s) else { return nil }
        return upper ? a.upper.lerp(to: b.upper, f) : a.lower.lerp(to: b.lower, f)
    }

    /// The columns on either side of `s` and how far along between them it lies; nil outside.
    private func segment(at s: Double) -> (Column, Column, Double)? {
        guard let first = columns.first, let last = columns.last, s >= first.s, s <= last.s else { return nil }
        for k in 0..<(columns.count - 1) where s <= columns[k + 1].s {
            let (a, b) = (columns[k], columns[k + 1])
            let span = b.s - a.s
            return (a, b, span < 1e-9 ? 0 : (s - a.s) / span)
        }
        return nil
    }

    /// Scans `image` across the mouth. `s(p)` and `t(p)` are a point's coordinates across and
    /// down the face; `down` is the face's downward unit vector.
    init(
        landmarks lm: FaceLandmarks, image: RGBImage, down: Point, s: (Point) -> Double,
        fractions: [Double] = [0.06, 0.12, 0.19, 0.27, 0.36, 0.45, 0.55, 0.64, 0.73, 0.81, 0.88, 0.94]
    ) {
        let across = Point(-down.y, down.x)
        func polyline(_ indices: [Int]) -> [(s: Double, p: Point)] {
            indices.map { (s(lm[$0]), lm[$0]) }.sorted { $0.s < $1.s }
        }
        let outerUpper = polyline([48, 49, 50, 51, 52, 53, 54])
        let outerLower = polyline([48, 59, 58, 57, 56, 55, 54])
        func at(_ line: [(s: Double, p: Point)], _ x: Double) -> Point? {
            for k in 0..<(line.count - 1) where x >= line[k].s && x <= line[k + 1].s {
                let span = line[k + 1].s - line[k].s
                return line[k].p.lerp(to: line[k + 1].p, span < 1e-9 ? 0 : (x - line[k].s) / span)
            }
            return nil
        }
        // Each lip's colour: the reddest of a few samples inside it (a glint or a tooth is not red).
        func lipColour(_ pairs: [(Int, Int)]) -> (Double, Double, Double) {
            var samples: [(Double, Double, Double)] = []
            for (outer, inner) in pairs {
                for f in [0.25, 0.4, 0.55] {
                    samples.append(Self.colour(image, lm[outer].lerp(to: lm[inner], f), across: across))
                }
            }
            return samples.max { $0.0 - ($0.1 + $0.2) / 2 < $1.0 - ($1.1 + $1.2) / 2 }!
        }
        let upperLip = lipColour([(50, 61), (51, 62), (52, 63)])
        let lowerLip = lipColour([(58, 67), (57, 66), (56, 65)])
        let teeth = Self.colour(image, lm[62].lerp(to: lm[66], 0.5), across: across)
        // Lips are red; teeth (lit or in shadow) are not, and the cavity is dark.
        let contrast = min(Self.redness(upperLip), Self.redness(lowerLip)) - Self.redness(teeth)
        /// How much a sample looks like lip (+1) or like the opening, teeth or cavity (-1).
        func lipLikeness(_ c: (Double, Double, Double), lip: (Double, Double, Double)) -> Double {
            let red = (Self.redness(c) - Self.redness(teeth)) / (Self.redness(lip) - Self.redness(teeth))
            let light = Self.luma(c) / max(Self.luma(lip), 1)
            return min(1, max(-1, (red - 0.5) * 4), max(-1, (light - 0.4) * 6))
        }

        let (left, right) = (s(lm[48]), s(lm[54]))
        var columns = [Column(s: left, upper: lm[48], lower: lm[48], gap: 0)]
        for f in fractions {
            let x = left + (right - left) * f
            guard let top = at(outerUpper, x), let bottom = at(outerLower, x) else { continue }
            let length = FaceRig.dot(bottom - top, down)
            var found: (Double, Double)?
            if contrast > 0.04 && length >= 3 {
                // Half-pixel samples from the outer upper lip to the outer lower lip. The opening is
                // the one stretch [u, l] that best splits them into lip, opening, lip: a specular
                // glint on a lip or a dark fold cannot pull the edge away from the lips' own.
                let steps = Int(length * 2)
                let samples = (0...steps).map { k in
                    Self.colour(image, top + down * (length * Double(k) / Double(steps)), across: across)
                }
                let upperScore = samples.map { lipLikeness($0, lip: upperLip) }
                let lowerScore = samples.map { lipLikeness($0, lip: lowerLip) }
                // prefixUpper[k]: lip score of samples[0..<k] as upper lip; suffixLower[k]: of samples[k...].
                var prefixUpper = [0.0]
                for v in upperScore { prefixUpper.append(prefixUpper[prefixUpper.count - 1] + v) }
                var suffixLower = [Double](repeating: 0, count: samples.count + 1)
                for k in stride(from: samples.count - 1, through: 0, by: -1) {
                    suffixLower[k] = suffixLower[k + 1] + lowerScore[k]
                }
                var prefixOpen = [0.0]
                for k in samples.indices {
                    prefixOpen.append(prefixOpen[prefixOpen.count - 1] - 0.5 * (upperScore[k] + lowerScore[k]))
                }
                let closed = (0...samples.count).map { prefixUpper[$0] + suffixLower[$0] }.max() ?? 0
                var best = (score: closed + 3, u: -1, l: -1)
                for u in 1..<samples.count {
                    for l in u..<(samples.count - 1) {
                        let score = prefixUpper[u] + (prefixOpen[l + 1] - prefixOpen[u]) + suffixLower[l + 1]
                        if score > best.score { best = (score, u, l) }
                    }
                }
                if best.u >= 0 {
                    // Each edge a little into its lip (at least a pixel; more on a soft, enlarged
                    // picture): the lips cover the whole opening when they meet.
                    let step = length / Double(steps)
                    let margin = max(1, 0.012 * lm.interocular)
                    let u = max(0, Double(best.u) * step - margin)
                    let l = min(length, Double(best.l) * step + margin)
                    found = (u, l)
                }
            }
            if let (u, l) = found {
                columns.append(Column(s: x, upper: top + down * u, lower: top + down * l, gap: l - u))
            } else {
                // The lips touch here (or nothing could be told apart): no opening.
                let mid = top.lerp(to: bottom, 0.5)
                columns.append(Column(s: x, upper: mid, lower: mid, gap: 0))
            }
        }
        columns.append(Column(s: right, upper: lm[54], lower: lm[54], gap: 0))
        self.columns = Self.despeckled(columns, down: down)
    }

    /// The opening as dlib's inner-lip points give it, when there is no picture to look at.
    init(landmarks lm: FaceLandmarks, s: (Point) -> Double, down: Point) {
        var columns = [Column(s: s(lm[48]), upper: lm[48], lower: lm[48], gap: 0)]
        for (upper, lower) in [(61, 67), (62, 66), (63, 65)] {
            let x = (s(lm[upper]) + s(lm[lower])) / 2
            let gap = max(0, FaceRig.dot(lm[lower] - lm[upper], down))
            columns.append(Column(s: x, upper: lm[upper], lower: lm[lower], gap: gap))
        }
        columns.append(Column(s: s(lm[54]), upper: lm[54], lower: lm[54], gap: 0))
        self.columns = columns.sorted { $0.s < $1.s }
    }

    /// A lip's edge is smooth: each inner column's edges are replaced by the median of it and its
    /// neighbours (along the face's vertical), so that one misread column cannot make a notch.
    static func despeckled(_ columns: [Column], down: Point) -> [Column] {
        guard columns.count > 4 else { return columns }
        var out = columns
        for k in 1..<(columns.count - 1) where columns[k].gap > 0 {
            let (a, b, c) = (columns[k - 1], columns[k], columns[k + 1])
            let origin = b.upper
            func median(_ points: [Point]) -> Double {
                points.map { FaceRig.dot($0 - origin, down) }.sorted()[1]
            }
            // (A neighbour with no opening stands for the lips meeting at its middle.)
            let upper = median([a.upper, b.upper, c.upper])
            let lower = median([a.lower, b.lower, c.lower])
            let gap = max(0, lower - upper)
            out[k] = Column(s: b.s, upper: origin + down * upper, lower: origin + down * max(upper, lower), gap: gap)
        }
        return out
    }

    /// Mean colour of three samples across the column at `p` (bilinear, clamped to the image).
    static func colour(_ image: RGBImage, _ p: Point, across: Point) -> (Double, Double, Double) {
        var sum = (0.0, 0.0, 0.0)
        for k in -1...1 {
            let q = p + across * Double(k)
            let x = min(Double(image.width - 1), max(0, q.x - 0.5))
            let y = min(Double(image.height - 1), max(0, q.y - 0.5))
            let x0 = Int(x)
            let y0 = Int(y)
            let x1 = min(image.width - 1, x0 + 1)
            let y1 = min(image.height - 1, y0 + 1)
            let fx = x - Double(x0)
            let fy = y - Double(y0)
            let a = image[x0, y0]
            let b = image[x1, y0]
            let c = image[x0, y1]
            let d = image[x1, y1]
            func mixed(_ u: UInt8, _ v: UInt8, _ w: UInt8, _ z: UInt8) -> Double {
                (Double(u) * (1 - fx) + Double(v) * fx) * (1 - fy) + (Double(w) * (1 - fx) + Double(z) * fx) * fy
            }
            sum.0 += mixed(a.0, b.0, c.0, d.0)
            sum.1 += mixed(a.1, b.1, c.1, d.1)
            sum.2 += mixed(a.2, b.2, c.2, d.2)
        }
        return (sum.0 / 3, sum.1 / 3, sum.2 / 3)
    }

    /// Red against the other two, relative to brightness.
    static func redness(_ c: (Double, Double, Double)) -> Double { (c.0 - 0.5 * (c.1 + c.2)) / max(c.0 + c.1 + c.2, 1) }

    static func luma(_ c: (Double, Double, Double)) -> Double { 0.299 * c.0 + 0.587 * c.1 + 0.114 * c.2 }

    static func distance(_ a: (Double, Double, Double), _ b: (Double, Double, Double)) -> Double {
        let (dr, dg, db) = (a.0 - b.0, a.1 - b.1, a.2 - b.2)
        return (dr * dr + dg * dg + db * db).squareRoot()
    }
}
