import Face
import Foundation
import Motion
import MouthpieceCore

/// A triangle mesh over the face: the 68 landmarks, points under the jaw and over the eyelids that
/// shape how skin stretches, and fixed anchors (a ring around the head, the frame's edges) that
/// keep everything else still. `deform` says where every vertex goes for a given `FaceMotion`.
///
/// All coordinates are output-frame pixels.
public struct FaceRig: Sendable {
    /// Vertex positions in the still portrait.
    public let rest: [Point]
    /// Counter-clockwise index triples.
    public private(set) var triangles: [(Int, Int, Int)] = []
    /// Triangles with at least one vertex that can move; all others are copied as they are.
    public private(set) var movingTriangles: [Int] = []
    public let landmarks: FaceLandmarks
    /// Mouth amplitude scale (`expressiveness`).
    public var expressiveness: Double

    // Face frame: unit vectors across (eye to eye) and down the face.
    let across: Point
    let down: Point
    let unit: Double
    let pivot: Point
    let chinDepth: Double
    /// Vertices between brow and upper lid, each tied to the lid landmark it follows.
    let lids: [(vertex: Int, lid: Int, weight: Double)]
    /// When the portrait's mouth is already open: vertices just above the lower inner lip that stay
    /// with the upper jaw, so the portrait's own teeth ride the upper lip instead of stretching.
    public let teethLine: [Int]
    /// How far each vertex stands out of the face's outline, in interocular units: how much it
    /// shifts when the head turns or nods. The outline and everything outside it have 0, which is
    /// what makes the face turn (2.5D) rather than slide, with the background still.
    let depth: [Double]
    let centre: Point
    /// Whether the portrait shows an open mouth (teeth or a gap between the lips).
    public var mouthOpenAtRest: Bool { !teethLine.isEmpty }

    /// Builds the rig for a face in a frame. With `portrait` (the frame's still picture) the rig
    /// also looks at the pixels to tell whether the mouth shows teeth at rest.
    public init(
        landmarks: FaceLandmarks, frameWidth: Int, frameHeight: Int, expressiveness: Double = 1,
        portrait: RGBImage? = nil
    ) {
        self.landmarks = landmarks
        self.expressiveness = expressiveness
        let eyes = landmarks.rightEyeCenter - landmarks.leftEyeCenter
        unit = max(eyes.length, 1)
        across = eyes * (1 / unit)
        down = Point(-across.y, across.x)
        pivot = (landmarks[0] + landmarks[16]) * 0.5
        chinDepth = max(Self.dot(landmarks[8] - pivot, down), unit * 0.5)

        var points = landmarks.points
        func add(_ p: Point) -> Int? {
            let q = Point(min(Double(frameWidth), max(0, p.x)), min(Double(frameHeight), max(0, p.y)))
            // Near-duplicates would make slivers; the first point at a place wins.
            if points.contains(where: { $0.distance(to: q) < 2 }) { return nil }
            points.append(q)
            return points.count - 1
        }
        let centre = Point.mean(landmarks.points)
        // Fixed points below the jaw: the skin between them and the jaw stretches as the chin
        // drops, and nothing beyond them moves (the neck, the collar, the background).
        for j in 2...14 { _ = add(landmarks[j] + (landmarks[j] - centre) * 0.45) }
        // A ring of lid-skin vertices above each eye, between the lid and the brow, so that a blink
        // stretches the skin just above the eye rather than dragging the brow down.
        var lids: [(Int, Int, Double)] = []
        for (anchor, brow, lid, weight) in [
            (37, 19, 37, 0.75), (38, 20, 38, 0.75), (36, 17, 37, 0.3), (39, 21, 38, 0.3),
            (43, 23, 43, 0.75), (44, 24, 44, 0.75), (42, 22, 43, 0.3), (45, 26, 44, 0.3),
        ] {
            if let v = add(landmarks[anchor].lerp(to: landmarks[brow], 0.4)) { lids.append((v, lid, weight)) }
        }
        // A mouth that shows teeth (by the landmarks' gap, or by the pixels between the lips) is
        // open at rest: a line of vertices just above the lower inner lip stays with the upper jaw,
        // so the portrait's own teeth ride the upper lip while the cavity opens beneath them. In the
        // rest pose these vertices make only zero-area triangles.
        var teethLine: [Int] = []
        let showsTeeth = portrait.map { MouthInterior.showsTeeth(in: $0, landmarks: landmarks) } ?? false
        if showsTeeth || landmarks.innerLipGap > 0.06 * landmarks.mouthWidth {
            for i in [67, 66, 65] {
                points.append(landmarks[i] - down * 0.25)
                teethLine.append(points.count - 1)
            }
        }
        // Forehead, fixed: above the brows, away from the nose.
        for b in [17, 19, 21, 22, 24, 26] { _ = add(landmarks[b] + (landmarks[b] - landmarks[30]) * 0.45) }
        // A fixed ring around the head confines the motion.
        let box = Rect.bounding(landmarks.points)
        let rx = box.width * 0.95
        let ry = box.height * 1.05
        for k in 0..<20 {
            let angle = Double(k) / 20 * 2 * Double.pi
            _ = add(centre + Point(rx * cos(angle), ry * sin(angle)))
        }
        let (w, h) = (Double(frameWidth), Double(frameHeight))
        for p in [
            Point(0, 0), Point(w / 2, 0), Point(w, 0), Point(w, h / 2), Point(w, h), Point(w / 2, h), Point(0, h),
            Point(0, h / 2),
        ] {
            _ = add(p)
        }
        rest = points
        self.lids = lids
        self.teethLine = teethLine
        var depth = [Double](repeating: 0, count: points.count)
        for i in 17...26 { depth[i] = 0.22 }
        for (i, d) in [
            (27, 0.25), (28, 0.32), (29, 0.4), (30, 0.5), (31, 0.3), (32, 0.35), (33, 0.4), (34, 0.35), (35, 0.3),
        ] {
            depth[i] = d
        }
        for i in 36...47 { depth[i] = 0.2 }
        for i in 48...67 { depth[i] = 0.3 }
        for (v, _, _) in lids { depth[v] = 0.2 }
        for v in teethLine { depth[v] = 0.3 }
        self.depth = depth
        self.centre = centre

        // Triangulate the widest-open pose, so that lip and lid contours become mesh edges.
        self.expressiveness = 1
        let open = deform(FaceMotion(mouth: MouthShape(jawOpen: 1, lipGap: 1, spread: 0), blink: 0))
        self.expressiveness = expressiveness
        let mesh = Delaunay.triangulate(open)
        triangles = mesh
        let movable = Set(Array(1...15) + Array(17...67) + lids.map(\.0) + teethLine)
        movingTriangles = mesh.indices.filter { i in
            let t = mesh[i]
            return movable.contains(t.0) || movable.contains(t.1) || movable.contains(t.2)
        }
    }

    /// Where every vertex goes for `motion`.
    public func deform(_ motion: FaceMotion) -> [Point] {
        var out = rest
        let m = motion.mouth
        let scale = expressiveness
        let jawDrop = m.jawOpen * 0.16 * unit * scale
        let lipExtra = m.lipGap * 0.05 * unit * scale
        let upperLift = m.lipGap * 0.025 * unit * scale
        let mouthWidth = landmarks.mouthWidth

        // How far down the jaw a point sits: 0 at the ear line, 1 at the chin.
        func reach(_ p: Point) -> Double { min(1, max(0, Self.dot(p - pivot, down) / chinDepth)) }
        func move(_ i: Int, across dx: Double, down dy: Double) { out[i] = rest[i] + across * dx + down * dy }

        for j in 1...15 {
            let t = reach(rest[j])
            move(j, across: 0, down: jawDrop * t * t.squareRoot())
        }
        for i in [55, 56, 57, 58, 59, 65, 66, 67] {
            move(i, across: 0, down: jawDrop * reach(rest[i]) + lipExtra)
        }
        for i in [50, 51, 52, 61, 62, 63] { move(i, across: 0, down: -upperLift) }
        for i in [49, 53] { move(i, across: 0, down: -upperLift * 0.6) }
        for v in teethLine { move(v, across: 0, down: -upperLift) }
        // Corners: half the lower lip's drop; apart for "ee", together for "oo" and wide-open jaws.
        let sideways = (0.05 * m.spread - 0.04 * m.jawOpen) * mouthWidth * scale
        for (i, side) in [(48, -1.0), (60, -1.0), (54, 1.0), (64, 1.0)] {
            move(i, across: side * sideways, down: 0.5 * (jawDrop * reach(rest[i]) + lipExtra))
        }

        // Blinks: the upper lid comes all the way down to the lower lid, which rises a little to
        // meet it, so no sliver of eye stays visible.
        let b = min(1, max(0, motion.blink))
        if b > 0 {
            for (upper, lower) in [(37, 41), (38, 40), (43, 47), (44, 46)] {
                let meet = rest[lower].lerp(to: rest[upper], 0.1)
                out[upper] = rest[upper].lerp(to: meet, b)
                out[lower] = rest[lower].lerp(to: meet, b)
            }
            for (v, lid, weight) in lids {
                out[v] = rest[v] + (out[lid] - rest[lid]) * weight
            }
        }
        if motion.head != .still { applyHead(motion.head, to: &out) }
        return out
    }

    /// Turns, nods and tilts move the face's inner features by their depth (the outline stays),
    /// and the brows lift.
    private func applyHead(_ h: HeadMotion, to out: inout [Point]) {
        let reach = 2.2 * unit
        let (sr, cr) = (sin(h.roll), cos(h.roll))
        let shift = across * (sin(h.yaw) * reach) + down * (sin(h.pitch) * reach)
        for i in out.indices where depth[i] > 0 {
            let d = out[i] - centre
            out[i] = centre + Point(d.x * cr - d.y * sr, d.x * sr + d.y * cr) + shift * depth[i]
        }
        for i in 17...26 { out[i] = out[i] - down * (h.browLift * 0.05 * unit) }
    }

    /// The parted lips' outline in a deformed pose: the upper edge (left corner to right corner)
    /// and the lower edge. With an open portrait mouth the upper edge is the teeth line.
    public func mouthOpening(_ points: [Point]) -> (upper: [Point], lower: [Point]) {
        let lower = [points[60], points[67], points[66], points[65], points[64]]
        if teethLine.count == 3 {
            return ([points[60]] + teethLine.map { points[$0] } + [points[64]], lower)
        }
        return ([points[60], points[61], points[62], points[63], points[64]], lower)
    }

    static func dot(_ a: Point, _ b: Point) -> Double { a.x * b.x + a.y * b.y }

}
