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
    /// Extra vertices along the inner edges of the lips of a mouth open at rest.
    let upperEdge: [Int]
    let lowerEdge: [Int]
    /// The lower lip's inner edge, left to right (dlib's points and `lowerEdge`); `teethLine`
    /// follows it one for one.
    let lowerContour: [Int]
    /// The mouth's extent across the face (`s` of the corners 48 and 54).
    let mouthSpan: (left: Double, right: Double)
    /// How far each vertex stands out of the face's outline, in interocular units: how much it
    /// shifts when the head turns or nods. The outline and everything outside it have 0, which is
    /// what makes the face turn (2.5D) rather than slide, with the background still.
    let depth: [Double]
    let centre: Point
    /// How much of the head's own motion (sway and tilt) each vertex follows.
    let carry: [Double]
    /// Where the head tilts about: below the chin.
    let neck: Point
    let frameSize: Point
    /// Moving vertices on the frame's border, and which of their coordinates are pinned.
    let edgePins: [(vertex: Int, x: Bool, y: Bool)]
    /// For a portrait whose mouth is open at rest, how far each lip vertex moves along the face's
    /// vertical (pixels, down positive) when the mouth is closed by warping: the upper lip comes a
    /// little way down with the teeth behind it, the lower lip and the jaw come up the rest and
    /// overlap the upper lip slightly, so no tooth can show between them.
    let closing: [(vertex: Int, shift: Double)]
    /// How far the chin rises when the mouth is closed by warping.
    let closingJaw: Double
    /// The portrait's own opening between the lips at the middle of the mouth, in pixels (0 when
    /// the mouth is closed at rest).
    public let restOpening: Double
    /// The mouth shape that reproduces the portrait exactly: `.rest` for a mouth closed at rest,
    /// the shape whose opening is the portrait's own for one open at rest.
    public var portraitMouth: MouthShape {
        guard restOpening > 0, expressiveness > 0 else { return .rest }
        return MouthShape(jawOpen: portraitOpenness, lipGap: portraitOpenness)
    }

    /// The voice's openness (0...1 of the widest) that the portrait's own open mouth stands for:
    /// its opening as a share of the rig's widest, but never more than 0.6, so that loud open
    /// vowels still drop the jaw beyond a broad smile. A mouth already wide open
    /// (`tooOpenToClose`) stands for the widest: it only closes, since opening it further would
    /// split what is inside it (a tongue, a dark throat) along a traced edge that is not the lip's.
    var portraitOpenness: Double {
        if tooOpenToClose { return 1 }
        return min(0.6, restOpening / (middleTravel(.widest) * unit * expressiveness))
    }

    /// How far the jaw, the lower lip and the upper lip travel at full control, in interocular units.
    static let jawTravel = 0.16
    static let lowerLipTravel = 0.05
    static let upperLipTravel = 0.025

    /// How far `m` parts the lips at the middle of the mouth, in interocular units at expressiveness 1.
    func middleTravel(_ m: MouthShape) -> Double {
        Self.jawTravel * m.jawOpen * reach(rest[66]) + (Self.lowerLipTravel + Self.upperLipTravel) * m.lipGap
    }

    /// How far down the jaw a point sits: 0 at the ear line, 1 at the chin.
    func reach(_ p: Point) -> Double { min(1, max(0, Self.dot(p - pivot, down) / chinDepth)) }

    /// Whether the portrait shows an open mouth (teeth or a gap between the lips).
    public var mouthOpenAtRest: Bool { !teethLine.isEmpty }

    /// The portrait's own opening between the lips as a share of the mouth's width.
    public var restOpeningShare: Double { restOpening / max(landmarks.mouthWidth, 1) }

    /// Lips so far apart at rest that closing them by warping cannot look right: beyond a third of
    /// the mouth's width (a broad smile with teeth measures well under a fifth).
    public var tooOpenToClose: Bool { restOpeningShare > 1.0 / 3 }

    /// Builds the rig for a face in a frame. With `portrait` (the frame's still picture) the rig
    /// also looks at the pixels to tell whether the mouth shows teeth at rest.
    /// Whether head motion moves the whole head (hair, neck) rather than the face's inner features
    /// alone; false keeps the animated region to the face.
    public let wholeHead: Bool

    public init(
        landmarks: FaceLandmarks, frameWidth: Int, frameHeight: Int, expressiveness: Double = 1,
        portrait: RGBImage? = nil, wholeHead: Bool = false
    ) {
        self.wholeHead = wholeHead
        self.landmarks = landmarks
        self.expressiveness = expressiveness
        let eyes = landmarks.rightEyeCenter - landmarks.leftEyeCenter
        unit = max(eyes.length, 1)
        across = eyes * (1 / unit)
        down = Point(-across.y, across.x)
        pivot = (landmarks[0] + landmarks[16]) * 0.5
        chinDepth = max(Self.dot(landmarks[8] - pivot, down), unit * 0.5)

        var points = landmarks.points
        // How much of the head's own motion each vertex follows: 1 for the head, less for the
        // neck, 0 for the background and the frame's edges.
        var carry = [Double](repeating: 1, count: points.count)
        func add(_ p: Point, carry share: Double = 1, insideOnly: Bool = false) -> Int? {
            // A ring point beyond the frame is left out rather than pulled onto its edge, where the
            // head's motion would fold thin triangles over.
            if insideOnly && (p.x < 1 || p.y < 1 || p.x > Double(frameWidth) - 1 || p.y > Double(frameHeight) - 1) {
                return nil
            }
            let q = Point(min(Double(frameWidth), max(0, p.x)), min(Double(frameHeight), max(0, p.y)))
            // Near-duplicates would make slivers; the first point at a place wins.
            if points.contains(where: { $0.distance(to: q) < 2 }) { return nil }
            points.append(q)
            carry.append(share)
            return points.count - 1
        }
        let centre = Point.mean(landmarks.points)
        // Points below the jaw: the skin between them and the jaw stretches as the chin drops; they
        // follow the head's motion half way (the neck bends under it).
        for j in 2...14 { _ = add(landmarks[j] + (landmarks[j] - centre) * 0.45, carry: 0.5) }
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
        // open at rest. Its opening is traced from the pixels (`LipEdges`), dlib's inner-lip points
        // move onto the lips' own edges, and more vertices follow the edges' curve. A line of
        // vertices just above the lower lip's edge stays with the upper jaw, so the portrait's own
        // teeth ride the upper lip while the cavity opens beneath them or the lower lip rises over
        // them; in the rest pose these vertices make only zero-area triangles.
        let axis = across
        let origin = pivot
        let vertical = down
        func sideOf(_ p: Point) -> Double { Self.dot(p - origin, axis) }
        var edges: LipEdges?
        var upperEdge: [Int] = []
        var lowerEdge: [Int] = []
        let showsTeeth = portrait.map { MouthInterior.showsTeeth(in: $0, landmarks: landmarks) } ?? false
        if showsTeeth || landmarks.innerLipGap > 0.06 * landmarks.mouthWidth {
            let traced =
                portrait.map { LipEdges(landmarks: landmarks, image: $0, down: vertical, s: sideOf) }
                ?? LipEdges(landmarks: landmarks, s: sideOf, down: vertical)
            for i in [61, 62, 63, 65, 66, 67] {
                let x = sideOf(points[i])
                if traced.gap(at: x) > 0, let p = traced.edge(at: x, upper: i < 64) { points[i] = p }
            }
            for column in traced.columns where column.gap > 0 {
                if let v = add(column.upper) { upperEdge.append(v) }
                if let v = add(column.lower) { lowerEdge.append(v) }
            }
            edges = traced
        }
        // The lower lip's edge from corner to corner, and the teeth line just above it.
        let lowerContour =
            edges == nil ? [] : ([65, 66, 67] + lowerEdge).sorted { sideOf(points[$0]) < sideOf(points[$1]) }
        var teethLine: [Int] = []
        for i in lowerContour {
            points.append(points[i] - down * 0.25)
            carry.append(1)
            teethLine.append(points.count - 1)
        }
        // Forehead: above the brows, away from the nose.
        for b in [17, 19, 21, 22, 24, 26] { _ = add(landmarks[b] + (landmarks[b] - landmarks[30]) * 0.45) }
        // A ring around the head (hair included) moves with it; below the mouth it is the neck,
        // which follows less. A wider ring stays put: the band between the two stretches as the
        // head moves, and nothing beyond it moves (background, shoulders).
        let box = Rect.bounding(landmarks.points)
        let mouthLevel = Self.dot(landmarks[57] - centre, down)
        for k in 0..<32 {
            let angle = Double(k) / 32 * 2 * Double.pi
            let p = centre + Point(box.width * 1.3 * cos(angle), box.height * 1.4 * sin(angle))
            _ = add(p, carry: Self.dot(p - centre, down) > mouthLevel ? 0.3 : 1, insideOnly: true)
        }
        for k in 0..<32 {
            let angle = Double(k) / 32 * 2 * Double.pi
            _ = add(
                centre + Point(box.width * 1.75 * cos(angle), box.height * 1.85 * sin(angle)), carry: 0,
                insideOnly: true)
        }
        // The frame's border, fixed.
        let (w, h) = (Double(frameWidth), Double(frameHeight))
        for k in 0...8 {
            let (x, y) = (w * Double(k) / 8, h * Double(k) / 8)
            for p in [Point(x, 0), Point(x, h), Point(0, y), Point(w, y)] { _ = add(p, carry: 0) }
        }
        rest = points
        self.carry = carry
        frameSize = Point(w, h)
        // A vertex on the frame's border may slide along it, never off it: the frame stays covered.
        edgePins = points.indices.compactMap { i in
            let p = points[i]
            let (x, y) = (p.x <= 0 || p.x >= w, p.y <= 0 || p.y >= h)
            return carry[i] > 0 && (x || y) ? (i, x, y) : nil
        }
        neck = landmarks[8] + down * unit
        self.lids = lids
        self.teethLine = teethLine
        self.upperEdge = upperEdge
        self.lowerEdge = lowerEdge
        self.lowerContour = lowerContour
        let mouthLeft = sideOf(points[48])
        let mouthRight = sideOf(points[54])
        mouthSpan = (mouthLeft, max(mouthRight, mouthLeft + 1))
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
        for v in teethLine + upperEdge + lowerEdge { depth[v] = 0.3 }
        self.depth = depth
        self.centre = centre
        if let edges {
            // Closing: the upper lip (and the teeth behind it) comes down 30 % of the way, the lower
            // lip and the jaw come up the rest and a little more.
            let upperShare = 0.3
            let overlap = 0.012 * unit
            var shifts: [(Int, Double)] = []
            for v in Array(49...53) + Array(60...64) + upperEdge + teethLine {
                let g = edges.gap(at: sideOf(points[v]))
                if g > 0 { shifts.append((v, upperShare * g)) }
            }
            for v in Array(55...59) + Array(65...67) + lowerEdge {
                let g = edges.gap(at: sideOf(points[v]))
                if g > 0 { shifts.append((v, -((1 - upperShare) * g + overlap * min(1, g / overlap)))) }
            }
            let middle = edges.gap(at: sideOf(points[66]))
            (closing, closingJaw, restOpening) = (shifts, (1 - upperShare) * middle + overlap, middle)
        } else {
            (closing, closingJaw, restOpening) = ([], 0, 0)
        }

        // Triangulate the widest-open pose, so that lip and lid contours become mesh edges.
        self.expressiveness = 1
        let open = deform(FaceMotion(mouth: .widest), closing: false)
        self.expressiveness = expressiveness
        let mesh = Delaunay.triangulate(open)
        triangles = mesh
        let movable = Set(
            Array(1...15) + Array(17...67) + lids.map(\.0) + teethLine + upperEdge + lowerEdge
                + (wholeHead ? Array(0...67) + carry.indices.filter { carry[$0] > 0 } : []))
        // The lower lip is drawn last: when it rises over the portrait's teeth, it covers them.
        let lowerLip = Set([55, 56, 57, 58, 59, 65, 66, 67] + lowerEdge)
        let teeth = Set(teethLine)
        func touches(_ set: Set<Int>, _ t: (Int, Int, Int)) -> Bool {
            set.contains(t.0) || set.contains(t.1) || set.contains(t.2)
        }
        let moving = mesh.indices.filter { touches(movable, mesh[$0]) }
        let (onTop, under) = (
            moving.filter { touches(lowerLip, mesh[$0]) && !touches(teeth, mesh[$0]) },
            moving.filter { !touches(lowerLip, mesh[$0]) || touches(teeth, mesh[$0]) }
        )
        movingTriangles = under + onTop
    }

    /// The mouth shape that moves the rig's vertices for `m`, and how far (0...1) an open
    /// portrait mouth is closed. A mouth open at rest is the reference for a middling opening
    /// (`portraitOpenness`): less is made by closing it (warping the lips together), more by
    /// dropping the jaw beyond it.
    func beyondPortrait(_ m: MouthShape) -> (MouthShape, closure: Double) {
        guard restOpening > 0 && expressiveness > 0 else { return (m, 0) }
        let reference = portraitOpenness
        let openness = middleTravel(m) / middleTravel(.widest)
        // Within a millionth of the portrait's own opening is the portrait itself.
        let k = abs(openness - reference) < 1e-6 ? 0 : max(0, (openness - reference) / openness)
        var beyond = m
        beyond.jawOpen *= k
        beyond.lipGap *= k
        return (beyond, openness < reference - 1e-6 ? 1 - openness / reference : 0)
    }

    /// How far the lower teeth have dropped for `mouth`, in pixels along the face's vertical.
    public func lowerJawShift(_ mouth: MouthShape) -> Double {
        let (m, closure) = beyondPortrait(mouth)
        return (m.jawOpen * Self.jawTravel * unit * expressiveness - closingJaw * closure) * reach(rest[66])
    }

    /// Where every vertex goes for `motion`.
    public func deform(_ motion: FaceMotion) -> [Point] { deform(motion, closing: true) }

    private func deform(_ motion: FaceMotion, closing closes: Bool) -> [Point] {
        var out = rest
        let scale = expressiveness
        let (m, closure) = closes ? beyondPortrait(motion.mouth) : (motion.mouth, 0)
        let jawDrop = m.jawOpen * Self.jawTravel * unit * scale
        let lipExtra = m.lipGap * Self.lowerLipTravel * unit * scale
        let upperLift = m.lipGap * Self.upperLipTravel * unit * scale
        let mouthWidth = landmarks.mouthWidth

        func move(_ i: Int, across dx: Double, down dy: Double) { out[i] = rest[i] + across * dx + down * dy }

        // The jaw outline drops with the jaw, or rises with it when an open mouth is closed.
        for j in 1...15 {
            let t = reach(rest[j])
            move(j, across: 0, down: (jawDrop - closingJaw * closure) * t * t.squareRoot())
        }
        // Apart for "ee", together for wide-open jaws: the corners most, the middle not. Rounding
        // gathers the corners in further (more near the corners) and pouts the lips out, which in
        // the picture thickens them a little.
        let sideways = (0.05 * m.spread - 0.04 * m.jawOpen) * mouthWidth * scale
        let gather = 0.13 * m.rounding * mouthWidth * scale
        let pout = 0.012 * m.rounding * unit * scale
        // The upper lip lifts off the teeth; a tucked lower lip rides up under the upper teeth
        // and lifts the upper lip off them a little: /f v/ show the upper teeth resting on the
        // lower lip.
        let tuck = min(1, max(0, m.lowerLipTuck))
        let raise = (m.upperLipRaise + 1.8 * tuck) * 0.02 * unit * scale
        let tuckUp = 0.012 * tuck * unit * scale
        let (left, right) = mouthSpan
        func side(_ i: Int) -> Double {
            let s = Self.dot(rest[i] - pivot, across)
            return min(1, max(-1, (2 * s - left - right) / (right - left)))
        }
        func inwards(_ i: Int) -> Double {
            let u = side(i)
            return u * sideways - u * abs(u) * gather
        }
        for i in [65, 66, 67] + lowerEdge {
            move(i, across: inwards(i), down: (jawDrop * reach(rest[i]) + lipExtra) * (1 - 0.7 * tuck) - tuckUp)
        }
        for i in [55, 56, 57, 58, 59] {
            move(i, across: inwards(i), down: (jawDrop * reach(rest[i]) + lipExtra) * (1 - 0.4 * tuck) + pout)
        }
        for i in [61, 62, 63] + upperEdge {
            move(i, across: inwards(i), down: -upperLift - raise)
        }
        for i in teethLine { move(i, across: inwards(i), down: -upperLift) }
        for i in [50, 51, 52] { move(i, across: inwards(i), down: -upperLift - raise - pout) }
        for i in [49, 53] { move(i, across: inwards(i), down: (-upperLift - raise - pout) * 0.6) }
        // Corners: half the lower lip's drop.
        for i in [48, 60, 54, 64] {
            move(i, across: inwards(i), down: 0.5 * (jawDrop * reach(rest[i]) + lipExtra))
        }

        if closure > 0 {
            for (v, shift) in closing { out[v] = out[v] + down * (shift * closure) }
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

    /// How far the whole head sways for a turn or nod of one radian, in eye distances.
    static let headSway = 4.0

    /// Turns and nods shift the face's inner features by their depth (a 2.5D turn); the whole
    /// head, hair included, sways with them and tilts about the neck, the neck following part way;
    /// the brows lift.
    private func applyHead(_ h: HeadMotion, to out: inout [Point]) {
        let reach = 2.2 * unit
        let turn = across * (sin(h.yaw) * reach) + down * (sin(h.pitch) * reach)
        for i in out.indices where depth[i] > 0 { out[i] = out[i] + turn * depth[i] }
        for i in 17...26 { out[i] = out[i] - down * (h.browLift * 0.05 * unit) }
        guard wholeHead else { return }
        let sway = across * (sin(h.yaw) * Self.headSway * unit) + down * (sin(h.pitch) * Self.headSway * unit)
        let (sr, cr) = (sin(h.roll), cos(h.roll))
        for i in out.indices where carry[i] > 0 {
            let c = carry[i]
            let d = out[i] - neck
            let tilted = Point(d.x * cr - d.y * sr, d.x * sr + d.y * cr)
            out[i] = out[i] + (tilted - d) * c + sway * c
        }
        for (i, x, y) in edgePins {
            if x { out[i].x = rest[i].x }
            if y { out[i].y = rest[i].y }
        }
        // Vertices near the border must not cross it (their triangles would fold over).
        for i in out.indices where carry[i] > 0 {
            out[i] = Point(min(frameSize.x, max(0, out[i].x)), min(frameSize.y, max(0, out[i].y)))
        }
    }

    /// The parted lips' outline in a deformed pose: the upper edge (left corner to right corner)
    /// and the lower edge. With an open portrait mouth the upper edge is the teeth line.
    public func mouthOpening(_ points: [Point]) -> (upper: [Point], lower: [Point]) {
        if !teethLine.isEmpty {
            return (
                [points[48]] + teethLine.map { points[$0] } + [points[54]],
                [points[48]] + lowerContour.map { points[$0] } + [points[54]]
            )
        }
        return (
            [points[60], points[61], points[62], points[63], points[64]],
            [points[60], points[67], points[66], points[65], points[64]]
        )
    }

    static func dot(_ a: Point, _ b: Point) -> Double { a.x * b.x + a.y * b.y }

}
