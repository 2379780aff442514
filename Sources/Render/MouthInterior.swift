import Face
import Foundation
import MouthpieceCore

/// Paints the inside of the mouth where the lips part: upper and lower teeth as separate, shaded
/// teeth on arches that recede into the corners (`Dentition`), the gum above them, a tongue with
/// a rounded back and a groove, a dark throat, all shadowed by the lips and matched to the
/// portrait's colour and brightness. The upper teeth stay with the head and the lower ones with
/// the jaw, so lips move over them rather than carrying them.
struct MouthInterior: Sendable {
    typealias Colour = (Double, Double, Double)
    let cavity: Colour
    let teeth: Colour
    let tongue: Colour
    let gum: Colour
    /// The portrait's grain (luma levels), added to the painted pixels so that they are not
    /// smoother than the skin around them.
    let grain: Double
    /// How soft the portrait's edges are, in output pixels: 1 for a sharp one, the enlargement
    /// for a portrait smaller than the output. Painted edges are no sharper than the picture's.
    let softness: Double

    init(base: RGBImage, landmarks: FaceLandmarks, softness: Double = 1) {
        // The enlargement, or the photo's own blur where it is softer still (a picture enlarged
        // before it reached us).
        self.softness = max(1, softness, 0.6 * Self.edgeWidth(base, around: landmarks))
        // Lip colour: small patches halfway between the outer and inner lip contours.
        var lip = (0.0, 0.0, 0.0)
        var count = 0.0
        for (outer, inner) in [(50, 61), (51, 62), (52, 63), (56, 65), (57, 66), (58, 67)] {
            let c = landmarks[outer].lerp(to: landmarks[inner], 0.5)
            for dy in -1...1 {
                for dx in -1...1 {
                    let x = min(base.width - 1, max(0, Int(c.x) + dx))
                    let y = min(base.height - 1, max(0, Int(c.y) + dy))
                    let p = base[x, y]
                    lip = (lip.0 + Double(p.0), lip.1 + Double(p.1), lip.2 + Double(p.2))
                    count += 1
                }
            }
        }
        lip = (lip.0 / count, lip.1 / count, lip.2 / count)
        let face = Rect.bounding(landmarks.points)
        let inner = face.insetBy(dx: face.width * 0.2, dy: face.height * 0.2)
        let luma = base.meanLuma(in: inner)
        let light = min(1.0, max(0.45, luma / 165))
        // The light's colour, from the skin's balance against a typical skin's (r:g:b about
        // 1 : 0.78 : 0.66), a little of it: warm light gives warmer teeth.
        let skin = Self.mean(base, in: inner)
        let skinLuma = max(1, 0.299 * skin.0 + 0.587 * skin.1 + 0.114 * skin.2)
        func cast(_ channel: Double, _ typical: Double) -> Double {
            min(1.12, max(0.88, pow(channel / skinLuma / typical, 0.35)))
        }
        let tint = (cast(skin.0, 1.17), cast(skin.1, 0.91), cast(skin.2, 0.77))
        teeth = (236 * light * tint.0, 229 * light * tint.1, 214 * light * tint.2)
        cavity = (lip.0 * 0.2 + 8, lip.1 * 0.07 + 4, lip.2 * 0.08 + 5)
        tongue = mix(lip, (205 * light, 108 * light, 108 * light), 0.5)
        gum = mix(lip, (214 * light, 122 * light, 126 * light), 0.45)
        grain = Self.grain(base, around: landmarks)
        blackLevel = Self.blackLevel(base, in: face)
        // That black, a little warm like a throat in shadow.
        black = (blackLevel * 0.85, blackLevel * 0.7, blackLevel * 0.7)
    }

    /// `blackLevel` as a colour, slightly warm.
    let black: Colour

    /// The picture's darkest level around the face (its 2nd percentile of luma): a faded or hazy
    /// photo has no true black, and a mouth painted darker than that looks cut out.
    let blackLevel: Double

    static func blackLevel(_ image: RGBImage, in rect: Rect) -> Double {
        var histogram = [Int](repeating: 0, count: 256)
        var n = 0
        let (x0, x1) = (max(0, Int(rect.minX)), min(image.width, Int(rect.maxX)))
        let (y0, y1) = (max(0, Int(rect.minY)), min(image.height, Int(rect.maxY)))
        guard x0 < x1, y0 < y1 else { return 0 }
        for y in stride(from: y0, to: y1, by: 2) {
            for x in stride(from: x0, to: x1, by: 2) {
                let p = image[x, y]
                let luma = 0.299 * Double(p.0) + 0.587 * Double(p.1) + 0.114 * Double(p.2)
                histogram[min(255, Int(luma.rounded()))] += 1
                n += 1
            }
        }
        var seen = 0
        for (level, count) in histogram.enumerated() {
            seen += count
            if seen * 50 >= n { return Double(level) }
        }
        return 0
    }

    /// Mean colour inside `rect`.
    static func mean(_ image: RGBImage, in rect: Rect) -> Colour {
        var sum = (0.0, 0.0, 0.0)
        var n = 0.0
        let (x0, x1) = (max(0, Int(rect.minX)), min(image.width, Int(rect.maxX)))
        let (y0, y1) = (max(0, Int(rect.minY)), min(image.height, Int(rect.maxY)))
        guard x0 < x1, y0 < y1 else { return (160, 120, 100) }
        for y in stride(from: y0, to: y1, by: 2) {
            for x in stride(from: x0, to: x1, by: 2) {
                let p = image[x, y]
                sum = (sum.0 + Double(p.0), sum.1 + Double(p.1), sum.2 + Double(p.2))
                n += 1
            }
        }
        return (sum.0 / n, sum.1 / n, sum.2 / n)
    }

    /// The skin's fine texture between nose and upper lip: the mean difference of neighbouring
    /// pixels' luma, less what a smooth gradient gives.
    static func grain(_ image: RGBImage, around landmarks: FaceLandmarks) -> Double {
        let c = landmarks[33].lerp(to: landmarks[51], 0.5)
        let r = max(2, Int(landmarks.mouthWidth * 0.15))
        var total = 0.0
        var n = 0.0
        func luma(_ x: Int, _ y: Int) -> Double {
            let p = image[min(image.width - 1, max(0, x)), min(image.height - 1, max(0, y))]
            return 0.299 * Double(p.0) + 0.587 * Double(p.1) + 0.114 * Double(p.2)
        }
        for y in (Int(c.y) - r / 3)...(Int(c.y) + r / 3) {
            for x in (Int(c.x) - r)...(Int(c.x) + r) {
                // Second difference: zero on a smooth slope, the texture's size on grain.
                total += abs(2 * luma(x, y) - luma(x - 1, y) - luma(x + 1, y))
                n += 1
            }
        }
        return min(5, max(0, 0.45 * total / max(n, 1)))
    }

    /// How many pixels the lips' strongest edges take to rise, looking down columns across the
    /// mouth from the nose to the chin: the luma step over 6 pixels divided by the steepest
    /// single-pixel rise within it (about 1.5 on a sharp photo); the median over the columns.
    static func edgeWidth(_ image: RGBImage, around landmarks: FaceLandmarks) -> Double {
        func luma(_ x: Int, _ y: Int) -> Double {
            let p = image[min(image.width - 1, max(0, x)), min(image.height - 1, max(0, y))]
            return 0.299 * Double(p.0) + 0.587 * Double(p.1) + 0.114 * Double(p.2)
        }
        let (top, bottom) = (Int(landmarks[33].y), Int(landmarks[8].y))
        guard bottom - top > 12 else { return 1 }
        var widths: [Double] = []
        for k in 1...7 {
            let x = Int(landmarks[48].lerp(to: landmarks[54], Double(k) / 8).x)
            var best = (step: 0.0, y: top)
            for y in (top + 3)..<(bottom - 3) {
                let step = abs(luma(x, y + 3) - luma(x, y - 3))
                if step > best.step { best = (step, y) }
            }
            guard best.step > 12 else { continue }
            var steepest = 0.0
            for y in (best.y - 3)..<(best.y + 3) { steepest = max(steepest, abs(luma(x, y + 1) - luma(x, y))) }
            if steepest > 0 { widths.append(best.step / steepest) }
        }
        guard !widths.isEmpty else { return 1 }
        return widths.sorted()[widths.count / 2]
    }

    /// The planes of a YUV 4:2:0 frame being painted; borrowed for one call.
    struct Planes {
        let y: UnsafeMutablePointer<UInt8>
        let u: UnsafeMutablePointer<UInt8>
        let v: UnsafeMutablePointer<UInt8>
        let width: Int
        let height: Int
    }

    /// Where the teeth are in one frame: the upper row hangs from where the lips meet with the head
    /// still, the lower row from the same line moved down by the jaw.
    struct Jaws {
        /// Between the mouth's corners, with the head still.
        let centre: Point
        /// Unit vector from the left corner to the right.
        let across: Point
        /// The mouth's width, pixels: the teeth's unit.
        let width: Double
        /// Where the lips meet at rest (moved with the head), left to right.
        let reference: [Point]
        /// How far the jaw has dropped, pixels.
        let lowerShift: Double
        /// Whether to draw upper teeth: off when the portrait's own are already there.
        let upperTeeth: Bool
    }

    /// Paints into `planes` between the `upper` and `lower` edges of the opening (corner to
    /// corner), luma at full resolution and chroma at half. Only the opening beyond `rest` (the
    /// still pose's own) is painted, so that the portrait's pose stays exactly the portrait.
    func paint(
        into planes: Planes, upper upperEdge: [Point], lower lowerEdge: [Point], rest: (upper: [Point], lower: [Point]),
        jaws: Jaws
    ) {
        let shape = Opening(
            upper: Self.smooth(upperEdge), lower: Self.smooth(lowerEdge), restUpper: Self.smooth(rest.upper),
            restLower: Self.smooth(rest.lower), reference: Self.smooth(jaws.reference),
            left: min(upperEdge[0].x, upperEdge[upperEdge.count - 1].x),
            right: max(upperEdge[0].x, upperEdge[upperEdge.count - 1].x))
        shade(shape, jaws, cell: 1, gridWidth: planes.width, gridHeight: planes.height) { i, c, alpha in
            let yuv = YUVImage.components(r: c.0, g: c.1, b: c.2)
            planes.y[i] = blend(planes.y[i], yuv.y, alpha)
        }
        shade(shape, jaws, cell: 2, gridWidth: planes.width / 2, gridHeight: planes.height / 2) { i, c, alpha in
            let yuv = YUVImage.components(r: c.0, g: c.1, b: c.2)
            planes.u[i] = blend(planes.u[i], yuv.u, alpha)
            planes.v[i] = blend(planes.v[i], yuv.v, alpha)
        }
    }

    struct Opening {
        let upper: [Point]
        let lower: [Point]
        let restUpper: [Point]
        let restLower: [Point]
        let reference: [Point]
        let left: Double
        let right: Double
    }

    /// Visits every sample of a grid of `cell`-pixel cells inside the opening with its colour and
    /// opacity; positions are measured in luma pixels at the cell's centre.
    private func shade(
        _ o: Opening, _ jaws: Jaws, cell: Int, gridWidth: Int, gridHeight: Int,
        _ write: (Int, Colour, Double) -> Void
    ) {
        let size = Double(cell)
        let mw = max(jaws.width, 1)
        let feather = max(softness, mw * 0.012)
        let gx0 = max(0, Int((o.left / size).rounded(.down)))
        let gx1 = min(gridWidth - 1, Int((o.right / size).rounded(.up)))
        guard gx0 < gx1 else { return }
        for gx in gx0...gx1 {
            let px = (Double(gx) + 0.5) * size
            guard let top = Self.interpolate(o.upper, at: px), let bottom = Self.interpolate(o.lower, at: px) else {
                continue
            }
            let gap = bottom - top
            let restGap =
                (Self.interpolate(o.restLower, at: px) ?? bottom) - (Self.interpolate(o.restUpper, at: px) ?? top)
            let excess = gap - max(0, restGap)
            if excess < 0.5 { continue }
            let opacity = smoothstep((excess - 0.5) / 2.5)
            let reference = Self.interpolate(o.reference, at: px) ?? (top + bottom) / 2
            // Light reaches into a wide opening; a narrow one stays mostly in shadow.
            let openLight = 0.45 + 0.55 * smoothstep(gap / (0.16 * mw))
            let gy0 = max(0, Int((top / size).rounded(.down)))
            let gy1 = min(gridHeight - 1, Int((bottom / size).rounded(.up)))
            guard gy0 <= gy1 else { continue }
            for gy in gy0...gy1 {
                let py = (Double(gy) + 0.5) * size
                let inside = min(py - top, bottom - py)
                if inside <= -0.5 * size { continue }
                let alpha = smoothstep((inside + 0.5) / (feather + 0.5)) * opacity
                if alpha <= 0 { continue }
                var (colour, front) = inner(at: Point(px, py), reference: reference, jaws: jaws, grain: cell == 1)
                // The lips' soft shadow: the upper lip overhangs more than the lower.
                let fromTop = (py - top) / mw
                let fromBottom = (bottom - py) / mw
                let shadow =
                    (openLight + (1 - openLight) * front) * (0.42 + 0.58 * smoothstep(fromTop / 0.07))
                    * (0.7 + 0.3 * smoothstep(fromBottom / 0.04))
                // Light bounced off the lips and cheeks inside: shadows there go warm, not grey.
                colour = (colour.0 * shadow, colour.1 * pow(shadow, 1.12), colour.2 * pow(shadow, 1.18))
                // No darker than the picture's own blacks.
                let lift = 1 - blackLevel / 255
                colour = (
                    black.0 + colour.0 * lift, black.1 + colour.1 * lift, black.2 + colour.2 * lift
                )
                write(gy * gridWidth + gx, colour, alpha)
            }
        }
    }

    /// The colour inside the mouth at `p`, lit but not yet shadowed by the lips: throat, tongue,
    /// lower teeth and gum, upper teeth and gum, back to front.
    /// Also says how much of what is there stands at the front of the mouth (teeth), where light
    /// reaches however narrow the opening.
    private func inner(at p: Point, reference: Double, jaws: Jaws, grain addGrain: Bool) -> (Colour, front: Double) {
        var front = 0.0
        let mw = max(jaws.width, 1)
        let x = Self.dot(p - jaws.centre, jaws.across) / mw
        let centre = max(0, 1 - abs(x) * 2)
        // The throat: darkest deep in the middle, the cheeks' insides a little lighter but in
        // shadow at the corners.
        var colour = scaled(cavity, 1.2 - 0.6 * smoothstep(centre * 1.4))
        var noise = 0.0
        if addGrain && grain > 0 {
            noise = (Self.hash(Int((x * mw).rounded(.down)), Int((p.y - reference).rounded(.down))) - 0.5) * 2 * grain
        }

        // Tongue: a rounded back rising behind the lower teeth, darker as it goes back into the
        // mouth (up in the picture) and towards the sides, with a groove down its middle.
        let lowerLine = reference + jaws.lowerShift + 0.012 * mw
        let tongueTop = lowerLine + (-0.05 + 0.5 * x * x) * mw
        if abs(x) < 0.36 {
            let cover = coverage(p.y - tongueTop)
            if cover > 0 {
                let depth = (p.y - tongueTop) / mw
                var t = scaled(tongue, 0.45 + 0.55 * smoothstep(depth / 0.06))
                t = scaled(t, 1 - 0.55 * smoothstep((abs(x) - 0.12) / 0.22))
                t = scaled(t, 1 - 0.14 * exp(-(x / 0.014) * (x / 0.014)))
                // A soft sheen across the top of the tongue.
                t = scaled(t, 1 + 0.08 * exp(-pow((depth - 0.045) / 0.02, 2)) * centre)
                colour = mix(colour, t, cover * smoothstep((0.36 - abs(x)) / 0.05))
            }
        }

        // Lower teeth, their biting edges up, in the shadow of the upper jaw.
        if let tooth = Dentition.lower.sample(x: x) {
            let edge = lowerLine - tooth.edge * mw
            let gumLine = lowerLine - tooth.gumLine * mw
            let enamel = coverage(p.y - edge) * coverage(gumLine - p.y)
            let gumCover = coverage(p.y - gumLine) * coverage(p.y - edge)
            if gumCover > 0 { colour = mix(colour, scaled(gum, 0.55 * (0.5 + 0.5 * tooth.facing)), gumCover) }
            if enamel > 0 {
                let along = (gumLine - p.y) / max(gumLine - edge, 1)
                let lit = toothColour(tooth, along: along, mw: mw, row: 0.62)
                colour = mix(colour, lit, enamel)
                front = 0.6 * enamel
            }
        }

        // Upper teeth, hanging from the head, and the gum above them.
        if jaws.upperTeeth, let tooth = Dentition.upper.sample(x: x) {
            let line = reference + 0.025 * mw
            let edge = line + tooth.edge * mw
            let gumLine = line + tooth.gumLine * mw
            let enamel = coverage(edge - p.y) * coverage(p.y - gumLine)
            let gumCover = coverage(gumLine - p.y)
            if gumCover > 0 { colour = mix(colour, scaled(gum, 0.6 + 0.4 * tooth.facing), gumCover) }
            if enamel > 0 {
                let along = (p.y - gumLine) / max(edge - gumLine, 1)
                colour = mix(colour, toothColour(tooth, along: along, mw: mw, row: 1), enamel)
                front += (0.8 - front) * enamel
            }
        }
        return ((colour.0 + noise, colour.1 + noise, colour.2 + noise), front)
    }

    /// A tooth's colour: lit from the front, darker as the arch turns away and recedes into the
    /// mouth, rounded across its width, a little yellower at the gum and translucent at the biting
    /// edge, with dark gaps between neighbours. `along` runs from the gum (0) to the edge (1).
    private func toothColour(_ tooth: Dentition.Sample, along: Double, mw: Double, row: Double) -> Colour {
        let facing = 0.5 + 0.5 * tooth.facing.squareRoot()
        let recede = 1 - 0.6 * smoothstep((tooth.s - 0.12) / 0.45)
        let round = 0.86 + 0.14 * sin(Double.pi * tooth.t)
        // Neighbouring teeth differ a little in shade.
        let own = 1 + 0.03 * cos(Double(tooth.index) * 2.3)
        var c = scaled(teeth, facing * recede * round * own * row)
        // Yellower towards the gum, translucent grey at the biting edge.
        c = mix(c, (c.0 * 0.97, c.1 * 0.92, c.2 * 0.8), 1 - smoothstep(along / 0.35))
        c = mix(
            c, mix(c, (cavity.0 * 2.2, cavity.1 * 3.5, cavity.2 * 4.5), 0.5), smoothstep((along - 0.82) / 0.18) * 0.5)
        // The gap between two teeth: about a pixel of shadow, wider near the edge where the
        // corners round off.
        let gapPixels = tooth.gap * mw
        let dark = 1 - smoothstep(gapPixels / max(0.8 * softness, 0.012 * mw))
        return mix(c, scaled(cavity, 0.9), dark * 0.8)
    }

    /// How much of a pixel lies on the positive side of an edge `d` pixels away.
    @inline(__always) private func coverage(_ d: Double) -> Double { min(1, max(0, d / softness + 0.5)) }

    /// A fixed pseudo-random value in 0..<1 for a pair of integers.
    static func hash(_ a: Int, _ b: Int) -> Double {
        var h =
            UInt64(bitPattern: Int64(a)) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: Int64(b))
            &* 0xC2B2_AE3D_27D4_EB4F
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return Double(h >> 11) / Double(1 << 53)
    }

    static func dot(_ a: Point, _ b: Point) -> Double { a.x * b.x + a.y * b.y }

    /// Whether the portrait shows teeth between the lips: bright, unsaturated pixels inside the
    /// outer lip contour, well above the lips' own brightness.
    static func showsTeeth(in image: RGBImage, landmarks: FaceLandmarks) -> Bool {
        let outline = FaceLandmarks.outerLips.map { landmarks[$0] }
        let box = Rect.bounding(outline)
        var lipLuma = 0.0
        var samples: [(luma: Double, saturation: Double)] = []
        for y in max(0, Int(box.minY))..<min(image.height, Int(box.maxY) + 1) {
            for x in max(0, Int(box.minX))..<min(image.width, Int(box.maxX) + 1) {
                guard contains(outline, Point(Double(x) + 0.5, Double(y) + 0.5)) else { continue }
                let p = image[x, y]
                let (r, g, b) = (Double(p.0), Double(p.1), Double(p.2))
                let high = max(r, g, b)
                let luma = 0.299 * r + 0.587 * g + 0.114 * b
                samples.append((luma, high > 0 ? (high - min(r, g, b)) / high : 0))
                lipLuma += luma
            }
        }
        guard samples.count >= 20 else { return false }
        lipLuma /= Double(samples.count)
        let bright = samples.filter { $0.luma > lipLuma + 30 && $0.saturation < 0.35 }.count
        return Double(bright) / Double(samples.count) > 0.08
    }

    /// Even-odd point-in-polygon test.
    static func contains(_ polygon: [Point], _ p: Point) -> Bool {
        var inside = false
        var j = polygon.count - 1
        for i in polygon.indices {
            let a = polygon[i]
            let b = polygon[j]
            if (a.y > p.y) != (b.y > p.y), p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x { inside.toggle() }
            j = i
        }
        return inside
    }

    /// A Catmull-Rom curve through `points`, as a denser polyline: lips are curves, not corners.
    static func smooth(_ points: [Point], samples: Int = 6) -> [Point] {
        // Dense outlines (traced from the pixels) are followed as they are: a spline through
        // unevenly spaced points would overshoot between close ones.
        guard points.count > 2 && points.count <= 5 else { return points }
        var out: [Point] = []
        for k in 0..<(points.count - 1) {
            let p0 = points[max(0, k - 1)]
            let p1 = points[k]
            let p2 = points[k + 1]
            let p3 = points[min(points.count - 1, k + 2)]
            for s in 0..<samples {
                let t = Double(s) / Double(samples)
                let t2 = t * t
                let t3 = t2 * t
                let a = p1 * 2
                let b = (p2 - p0) * t
                let c = (p0 * 2 - p1 * 5 + p2 * 4 - p3) * t2
                let d = (p1 * 3 - p0 - p2 * 3 + p3) * t3
                out.append((a + b + c + d) * 0.5)
            }
        }
        out.append(points[points.count - 1])
        return out
    }

    /// The polyline's y at `x`, or nil outside its horizontal span.
    static func interpolate(_ line: [Point], at x: Double) -> Double? {
        for k in 0..<(line.count - 1) {
            let a = line[k]
            let b = line[k + 1]
            let lo = min(a.x, b.x)
            let hi = max(a.x, b.x)
            if x >= lo && x <= hi {
                if hi - lo < 1e-9 { return min(a.y, b.y) }
                return a.y + (b.y - a.y) * (x - a.x) / (b.x - a.x)
            }
        }
        return nil
    }
}

@inline(__always) func smoothstep(_ x: Double) -> Double {
    let c = min(1, max(0, x))
    return c * c * (3 - 2 * c)
}

@inline(__always) func scaled(_ a: (Double, Double, Double), _ k: Double) -> (Double, Double, Double) {
    (a.0 * k, a.1 * k, a.2 * k)
}

@inline(__always) func mix(
    _ a: (Double, Double, Double), _ b: (Double, Double, Double), _ t: Double
) -> (Double, Double, Double) {
    (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t, a.2 + (b.2 - a.2) * t)
}

@inline(__always) func blend(_ under: UInt8, _ over: Double, _ alpha: Double) -> UInt8 {
    UInt8(min(255, max(0, (Double(under) * (1 - alpha) + over * alpha).rounded())))
}
