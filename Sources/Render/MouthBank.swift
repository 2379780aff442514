import Face
import Foundation
import Motion
import MouthpieceCore

/// One frame of a person's footage, kept for its mouth: shape measures and the lower face's pixels.
public struct MouthSample: Sendable {
    /// The footage frame it came from.
    public let frameIndex: Int
    /// Landmarks in the crop's coordinates.
    public let landmarks: FaceLandmarks
    /// Gap between the inner lips at the middle, in eye distances.
    public let opening: Double
    /// Corner to corner, in eye distances.
    public let width: Double
    /// How lopsided the mouth is, in eye distances: the corners' difference in height and the
    /// mouth's sideways offset from the nose (a twisted grimace is not a speech shape).
    public let asymmetry: Double
    /// The head's turn in that frame, degrees.
    public let yaw: Double
    /// The lower face, cut from the frame (even-aligned).
    public let crop: YUVImage
    /// The outer lips' height over their width: higher when rounded ("oo") or wide open.
    public let roundness: Double
    /// How much teeth show between the lips, 0 (none: closed, or a dark mouth) to 1.
    public let teeth: Double

    public init(
        frameIndex: Int, landmarks: FaceLandmarks, opening: Double, width: Double, asymmetry: Double, yaw: Double,
        crop: YUVImage, roundness: Double = 0.35, teeth: Double = 0
    ) {
        self.frameIndex = frameIndex
        self.landmarks = landmarks
        self.opening = opening
        self.width = width
        self.asymmetry = asymmetry
        self.yaw = yaw
        self.crop = crop
        self.roundness = roundness
        self.teeth = teeth
    }
}

/// A bank of real mouths from footage of one person, indexed by shape: the mouths a render picks
/// from instead of drawing one. Teeth, tongue and lips are the person's own, lit as in the footage.
public struct MouthBank: Sendable {
    public private(set) var samples: [MouthSample] = []
    /// Samples taken at most this often (every `sampleEvery`-th frame) to bound memory.
    public let sampleEvery: Int

    /// `expectedFrames` sizes the stride so that at most `capacity` samples are kept.
    public init(expectedFrames: Int, capacity: Int = 240) {
        sampleEvery = max(1, Int((Double(expectedFrames) / Double(capacity)).rounded(.up)))
    }

    /// A bank of given samples (for tests).
    init(samples: [MouthSample]) {
        self.samples = samples
        sampleEvery = 1
    }

    /// Points around which the lower face is cut and aligned: jaw, nose, mouth.
    static let regionPoints = Array(1...15) + Array(29...35) + Array(48...67)

    /// Adds frame `index` of the footage when it is its turn and the face is usable.
    public mutating func offer(_ frame: YUVImage, face: TrackedFace, index: Int) {
        guard face.usable, index % sampleEvery == 0 else { return }
        let lm = face.landmarks
        let iod = max(lm.interocular, 1)
        let box = Rect.bounding(Self.regionPoints.map { lm[$0] })
        let margin = 0.45 * iod
        let x0 = max(0, Int(box.minX - margin) & ~1)
        let y0 = max(0, Int(box.minY - margin) & ~1)
        let x1 = min(frame.width, (Int(box.maxX + margin) + 1) & ~1)
        let y1 = min(frame.height, (Int(box.maxY + margin) + 1) & ~1)
        guard x1 - x0 >= 8, y1 - y0 >= 8 else { return }
        let crop = frame.cropped(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
        let origin = Point(Double(x0), Double(y0))
        let local = lm.mapped { $0 - origin }
        let opening = max(0, lm.innerLipGap) / iod
        samples.append(
            MouthSample(
                frameIndex: index, landmarks: local, opening: opening, width: lm.mouthWidth / iod,
                asymmetry: Self.asymmetry(lm), yaw: face.pose.yaw, crop: crop,
                roundness: lm[57].distance(to: lm[51]) / max(lm.mouthWidth, 1),
                teeth: opening > 0.02 ? Self.teeth(in: crop, landmarks: local) : 0))
    }

    /// Teeth between the lips: how much brighter the inside of the inner-lip outline is than the
    /// lips themselves (luma), as a share of 40 levels, 0...1.
    static func teeth(in crop: YUVImage, landmarks lm: FaceLandmarks) -> Double {
        let inner = Array(60...67).map { lm[$0] }
        let outer = Array(48...59).map { lm[$0] }
        let box = Rect.bounding(outer)
        var (insideSum, insideCount, lipSum, lipCount) = (0, 0, 0, 0)
        for row in max(0, Int(box.minY))..<min(crop.height, Int(box.maxY) + 1) {
            for x in max(0, Int(box.minX))..<min(crop.width, Int(box.maxX) + 1) {
                let p = Point(Double(x) + 0.5, Double(row) + 0.5)
                let value = Int(crop.y[row * crop.width + x])
                if Self.contains(inner, p) {
                    insideSum += value
                    insideCount += 1
                } else if Self.contains(outer, p) {
                    lipSum += value
                    lipCount += 1
                }
            }
        }
        guard insideCount > 4, lipCount > 4 else { return 0 }
        let contrast = Double(insideSum) / Double(insideCount) - Double(lipSum) / Double(lipCount)
        return min(1, max(0, contrast / 40))
    }

    /// Even-odd point-in-polygon.
    static func contains(_ polygon: [Point], _ p: Point) -> Bool {
        var inside = false
        var j = polygon.count - 1
        for i in polygon.indices {
            let (a, b) = (polygon[i], polygon[j])
            if (a.y > p.y) != (b.y > p.y), p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x { inside.toggle() }
            j = i
        }
        return inside
    }

    static func asymmetry(_ lm: FaceLandmarks) -> Double {
        let iod = max(lm.interocular, 1)
        let across = (lm.rightEyeCenter - lm.leftEyeCenter) * (1 / iod)
        let down = Point(-across.y, across.x)
        func dot(_ a: Point, _ b: Point) -> Double { a.x * b.x + a.y * b.y }
        let tilt = abs(dot(lm[54] - lm[48], down))
        // The mouth's middle against the line from the nose bridge to the nose tip, carried down.
        let offset = abs(dot(lm.mouthCenter - lm[33], across) - dot(lm[33] - lm[27], across) * 0.5)
        return (tilt + offset) / iod
    }

    /// The person's range: the opening of a closed mouth, of a wide one, and the relaxed width.
    public var range: (closed: Double, wide: Double, width: Double) {
        guard !samples.isEmpty else { return (0, 0.2, 0.9) }
        let openings = samples.map(\.opening).sorted()
        let closed = openings[0]
        let wide = max(openings[min(openings.count - 1, Int(Double(openings.count) * 0.95))], closed + 0.08)
        let calm = samples.filter { $0.opening <= closed + 0.3 * (wide - closed) }.map(\.width).sorted()
        let width = calm.isEmpty ? samples.map(\.width).reduce(0, +) / Double(samples.count) : calm[calm.count / 2]
        return (closed, wide, width)
    }

    /// The opening and width (eye distances) this person's mouth has for `shape`.
    public func target(for shape: MouthShape) -> (opening: Double, width: Double) {
        target(for: shape, range: range)
    }

    func target(for shape: MouthShape, range r: (closed: Double, wide: Double, width: Double)) -> (
        opening: Double, width: Double
    ) {
        // How far the lips part, 0...1 of the widest, as the portrait rig measures it.
        let opening = Self.openness(shape) * r.wide
        let width = r.width * (1 + 0.1 * shape.spread - 0.15 * shape.rounding)
        return (opening, width)
    }

    static func openness(_ shape: MouthShape) -> Double {
        min(1, max(0, (0.136 * shape.jawOpen + 0.075 * shape.lipGap) / 0.211))
    }

    /// Extra cost of a sample's roundness and teeth for `shape`: a rounded vowel wants a taller,
    /// narrower mouth; teeth show on sibilants and open spread vowels, not on rounded ones.
    func detailCost(_ sample: MouthSample, _ shape: MouthShape, calmRoundness: Double) -> Double {
        let wantRound = calmRoundness + 0.25 * shape.rounding + 0.3 * Self.openness(shape)
        let wantTeeth = min(1, max(0, 1.2 * shape.upperLipRaise + 0.4 * max(0, shape.spread) - 0.8 * shape.rounding))
        let round = (sample.roundness - wantRound) / 0.12
        let teeth = sample.opening > 0.02 ? (sample.teeth - wantTeeth) / 0.6 : 0
        return 0.5 * (round * round + teeth * teeth)
    }

    /// For each target shape, the sample to show: a path through the bank that matches the shapes
    /// and keeps moving the way the footage moved (the next frame of footage is free, staying is
    /// cheap, any other jump costs), found by dynamic programming so it does not flicker.
    /// `yaws` (degrees, one per shape, or empty) prefers mouths seen from the same side.
    public func path(
        for shapes: [MouthShape], yaws: [Double] = [], jumpCost: Double = 1.5, holdCost: Double = 0.15
    ) -> [Int] {
        let count = samples.count
        guard count > 0, !shapes.isEmpty else { return [] }
        let r = range
        let openingScale = max(0.02, 0.12 * (r.wide - r.closed))
        let widthScale = max(0.02, 0.08 * r.width)
        func match(_ s: Int, _ t: (opening: Double, width: Double), yaw: Double?) -> Double {
            let sample = samples[s]
            let o = (sample.opening - t.opening) / openingScale
            let w = (sample.width - t.width) / widthScale
            let turn = yaw.map { (sample.yaw - $0) / 8 } ?? 0
            let lopsided = max(0, sample.asymmetry - 0.03) / 0.03
            // A mouth more open than asked shows teeth that should not be there: worse than less.
            return (sample.opening > t.opening ? 1.5 : 1) * o * o + w * w + turn * turn + lopsided * lopsided
        }
        func yaw(_ n: Int) -> Double? { yaws.indices.contains(n) ? yaws[n] : nil }
        let closedish = samples.filter { $0.opening <= r.closed + 0.2 * (r.wide - r.closed) }.map(\.roundness).sorted()
        let calmRoundness = closedish.isEmpty ? 0.3 : closedish[closedish.count / 2]
        let targets = shapes.map { target(for: $0, range: r) }
        func fit(_ s: Int, _ n: Int) -> Double {
            match(s, targets[n], yaw: yaw(n)) + detailCost(samples[s], shapes[n], calmRoundness: calmRoundness)
        }
        var cost = (0..<count).map { fit($0, 0) }
        var back: [[Int32]] = []
        back.reserveCapacity(shapes.count)
        back.append([Int32](repeating: -1, count: count))
        for n in 1..<shapes.count {
            // The cheapest predecessor for an arbitrary jump is the same for every sample.
            var best = 0
            for s in 1..<count where cost[s] < cost[best] { best = s }
            var next = [Double](repeating: 0, count: count)
            var from = [Int32](repeating: 0, count: count)
            for s in 0..<count {
                var c = cost[best] + jumpCost
                var f = best
                if s > 0, cost[s - 1] < c {
                    c = cost[s - 1]
                    f = s - 1
                }
                if cost[s] + holdCost < c {
                    c = cost[s] + holdCost
                    f = s
                }
                next[s] = c + fit(s, n)
                from[s] = Int32(f)
            }
            cost = next
            back.append(from)
        }
        var s = (0..<count).min { cost[$0] < cost[$1] }!
        var path = [Int](repeating: 0, count: shapes.count)
        for n in stride(from: shapes.count - 1, through: 0, by: -1) {
            path[n] = s
            if n > 0 { s = Int(back[n][s]) }
        }
        return path
    }
}

extension YUVImage {
    /// A rectangle of the picture with even origin and size.
    public func cropped(x: Int, y row: Int, width w: Int, height h: Int) -> YUVImage {
        precondition(x % 2 == 0 && row % 2 == 0 && w % 2 == 0 && h % 2 == 0, "even crop expected")
        var py = [UInt8](repeating: 0, count: w * h)
        var pu = [UInt8](repeating: 0, count: w * h / 4)
        var pv = [UInt8](repeating: 0, count: w * h / 4)
        for r in 0..<h { py[(r * w)..<(r * w + w)] = y[((row + r) * width + x)..<((row + r) * width + x + w)] }
        let (cw, ch, fw) = (w / 2, h / 2, width / 2)
        for r in 0..<ch {
            let o = (row / 2 + r) * fw + x / 2
            pu[(r * cw)..<(r * cw + cw)] = u[o..<(o + cw)]
            pv[(r * cw)..<(r * cw + cw)] = v[o..<(o + cw)]
        }
        return YUVImage(width: w, height: h, y: py, u: pu, v: pv)
    }
}
