import Face
import MouthpieceCore

/// Paints the inside of the mouth where the lips part: a dark, warm cavity, a band of upper teeth
/// under the upper lip, a hint of tongue when wide, all feathered into the lips and matched to the
/// portrait's colour and brightness.
struct MouthInterior: Sendable {
    let cavity: (Double, Double, Double)
    let teeth: (Double, Double, Double)
    let tongue: (Double, Double, Double)

    init(base: RGBImage, landmarks: FaceLandmarks) {
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
        let luma = base.meanLuma(in: face.insetBy(dx: face.width * 0.2, dy: face.height * 0.2))
        let light = min(1.0, max(0.5, luma / 165))
        cavity = (lip.0 * 0.22 + 4, lip.1 * 0.12 + 2, lip.2 * 0.12 + 2)
        teeth = (232 * light, 224 * light, 210 * light)
        tongue = (lip.0 * 0.75 + 20, lip.1 * 0.45, lip.2 * 0.45)
    }

    /// The planes of a YUV 4:2:0 frame being painted; borrowed for one call.
    struct Planes {
        let y: UnsafeMutablePointer<UInt8>
        let u: UnsafeMutablePointer<UInt8>
        let v: UnsafeMutablePointer<UInt8>
        let width: Int
        let height: Int
    }

    /// Paints into `planes` between the `upper` and `lower` edges of the opening (corner to
    /// corner), luma at full resolution and chroma at half. `teeth` draws upper teeth; off when the
    /// portrait's own teeth are already there above the opening.
    func paint(
        into planes: Planes, upper upperEdge: [Point], lower lowerEdge: [Point], rest: (upper: [Point], lower: [Point]),
        teeth drawTeeth: Bool, teethShare: Double = 0.38
    ) {
        let shape = Opening(
            upper: Self.smooth(upperEdge), lower: Self.smooth(lowerEdge), restUpper: Self.smooth(rest.upper),
            restLower: Self.smooth(rest.lower), left: min(upperEdge[0].x, upperEdge[upperEdge.count - 1].x),
            right: max(upperEdge[0].x, upperEdge[upperEdge.count - 1].x))
        shade(
            shape, cell: 1, gridWidth: planes.width, gridHeight: planes.height, teeth: drawTeeth, teethShare: teethShare
        ) { i, c, alpha in
            let yuv = YUVImage.components(r: c.0, g: c.1, b: c.2)
            planes.y[i] = blend(planes.y[i], yuv.y, alpha)
        }
        shade(
            shape, cell: 2, gridWidth: planes.width / 2, gridHeight: planes.height / 2, teeth: drawTeeth,
            teethShare: teethShare
        ) { i, c, alpha in
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
        let left: Double
        let right: Double
    }

    /// Visits every sample of a grid of `cell`-pixel cells inside the opening with its colour and
    /// opacity; positions are measured in luma pixels at the cell's centre.
    private func shade(
        _ o: Opening, cell: Int, gridWidth: Int, gridHeight: Int, teeth drawTeeth: Bool, teethShare: Double,
        _ write: (Int, (Double, Double, Double), Double) -> Void
    ) {
        let size = Double(cell)
        let mouthWidth = max(o.right - o.left, 1)
        let feather = max(1.0, mouthWidth * 0.02)
        let gx0 = max(0, Int((o.left / size).rounded(.down)))
        let gx1 = min(gridWidth - 1, Int((o.right / size).rounded(.up)))
        guard gx0 < gx1 else { return }
        for gx in gx0...gx1 {
            let px = (Double(gx) + 0.5) * size
            guard let top = Self.interpolate(o.upper, at: px), let bottom = Self.interpolate(o.lower, at: px) else {
                continue
            }
            let gap = bottom - top
            // Only the opening beyond the portrait's own is painted, fading in over a few pixels,
            // so that the rest pose stays exactly the portrait.
            let restGap =
                (Self.interpolate(o.restLower, at: px) ?? bottom) - (Self.interpolate(o.restUpper, at: px) ?? top)
            let excess = gap - max(0, restGap)
            if excess < 0.5 { continue }
            let opacity = smoothstep((excess - 0.5) / 2.5)
            let u = (px - o.left) / mouthWidth
            let centre = min(u, 1 - u) * 2
            let teethHeight = drawTeeth ? min(teethShare * gap, 0.10 * mouthWidth) * smoothstep(centre * 1.8) : 0
            let wide = smoothstep((gap / mouthWidth - 0.12) / 0.2)
            // Lower teeth: only in a wide-open mouth, a narrower band behind the lower lip.
            let lowerTeeth = drawTeeth ? wide * min(0.16 * gap, 0.045 * mouthWidth) * smoothstep(centre * 2.2) : 0
            let gy0 = max(0, Int((top / size).rounded(.down)))
            let gy1 = min(gridHeight - 1, Int((bottom / size).rounded(.up)))
            guard gy0 <= gy1 else { continue }
            for gy in gy0...gy1 {
                let py = (Double(gy) + 0.5) * size
                let inside = min(py - top, bottom - py)
                if inside <= -0.5 * size { continue }
                let alpha = smoothstep((inside + 0.5) / (feather + 0.5)) * opacity
                if alpha <= 0 { continue }
                let v = (py - top) / gap
                let shade = 0.65 + 0.35 * centre
                var colour = (cavity.0 * shade, cavity.1 * shade, cavity.2 * shade)
                // Tongue: low in a wide-open mouth.
                colour = mix(colour, tongue, smoothstep((v - 0.6) / 0.4) * wide * 0.55)
                // Upper teeth: a band hanging from the upper lip, shaded under the lip and at the sides.
                let depth = py - top
                if teethHeight > 0.8 {
                    let inTeeth = smoothstep((teethHeight - depth) / 1.2 + 0.5)
                    let lipShadow = 0.78 + 0.22 * smoothstep(depth / max(teethHeight * 0.45, 0.5))
                    let toothShade = lipShadow * (0.7 + 0.3 * centre)
                    colour = mix(colour, (teeth.0 * toothShade, teeth.1 * toothShade, teeth.2 * toothShade), inTeeth)
                }
                if lowerTeeth > 0.8 {
                    let height = bottom - py
                    let inTeeth = smoothstep((lowerTeeth - height) / 1.2 + 0.5)
                    let toothShade = 0.62 * (0.75 + 0.25 * centre)
                    colour = mix(colour, (teeth.0 * toothShade, teeth.1 * toothShade, teeth.2 * toothShade), inTeeth)
                }
                write(gy * gridWidth + gx, colour, alpha)
            }
        }
    }

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

@inline(__always) func mix(
    _ a: (Double, Double, Double), _ b: (Double, Double, Double), _ t: Double
) -> (Double, Double, Double) {
    (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t, a.2 + (b.2 - a.2) * t)
}

@inline(__always) func blend(_ under: UInt8, _ over: Double, _ alpha: Double) -> UInt8 {
    UInt8(min(255, max(0, (Double(under) * (1 - alpha) + over * alpha).rounded())))
}
