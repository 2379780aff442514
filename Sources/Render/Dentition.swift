import Foundation

/// One row of teeth seen from the front, in units of the mouth's width: from the midline out,
/// each tooth's width along the arch, its crown's height and how far its biting edge sits from
/// the row's reference line (towards the other row positive).
///
/// The arch is a curve that faces the camera at the midline and turns away towards the back, so a
/// tooth `s` along the arch shows at `W tanh(s / W)` from the midline: the incisors at nearly their
/// width, canines foreshortened, premolars thin slivers receding into the corners. Proportions are
/// the textbook crown sizes of permanent teeth (upper central incisor 8.5 mm wide and 10.5 mm
/// tall, about a sixth of a 50 mm mouth).
struct Dentition: Sendable {
    struct Tooth: Sendable {
        /// Width along the arch.
        let width: Double
        /// Crown height, from the gum to the biting edge.
        let crown: Double
        /// How much shorter than the reference its biting edge reaches.
        let shortfall: Double
        /// A pointed edge (canines): extra length at the tooth's middle.
        let cusp: Double
    }

    let teeth: [Tooth]
    /// The arch's half-width at the back.
    let halfWidth: Double
    /// How far the biting edge's corners round off (worn lower incisors are nearly square).
    let rounding: Double
    /// Where each tooth starts along the arch.
    let starts: [Double]

    init(teeth: [Tooth], halfWidth: Double, rounding: Double) {
        self.teeth = teeth
        self.halfWidth = halfWidth
        self.rounding = rounding
        var s = 0.0
        var starts: [Double] = []
        for tooth in teeth {
            starts.append(s)
            s += tooth.width
        }
        self.starts = starts
    }

    /// Central and lateral incisors, canine, two premolars, first molar.
    static let upper = Dentition(
        teeth: [
            Tooth(width: 0.17, crown: 0.21, shortfall: 0, cusp: 0),
            Tooth(width: 0.13, crown: 0.18, shortfall: 0.014, cusp: 0),
            Tooth(width: 0.15, crown: 0.2, shortfall: 0.012, cusp: 0.014),
            Tooth(width: 0.14, crown: 0.16, shortfall: 0.018, cusp: 0.006),
            Tooth(width: 0.135, crown: 0.15, shortfall: 0.024, cusp: 0.005),
            Tooth(width: 0.2, crown: 0.13, shortfall: 0.03, cusp: 0.004),
        ], halfWidth: 0.45, rounding: 0.018)

    /// The lower row: narrower incisors on a narrower arch, inside the upper one.
    static let lower = Dentition(
        teeth: [
            Tooth(width: 0.105, crown: 0.17, shortfall: 0, cusp: 0),
            Tooth(width: 0.115, crown: 0.18, shortfall: 0.004, cusp: 0),
            Tooth(width: 0.135, crown: 0.2, shortfall: 0.006, cusp: 0.012),
            Tooth(width: 0.14, crown: 0.16, shortfall: 0.014, cusp: 0.005),
            Tooth(width: 0.14, crown: 0.15, shortfall: 0.02, cusp: 0.004),
            Tooth(width: 0.22, crown: 0.13, shortfall: 0.026, cusp: 0.004),
        ], halfWidth: 0.41, rounding: 0.006)

    /// What of the row is at `x` mouth widths from the midline.
    struct Sample {
        let index: Int
        /// Across the tooth, 0 to 1 (from the side nearer the midline).
        let t: Double
        /// Distance along the arch from the midline.
        let s: Double
        /// How squarely the tooth faces the camera there: 1 at the midline, towards 0 at the back.
        let facing: Double
        /// Distance to the nearest gap between teeth, in mouth widths as seen.
        let gap: Double
        /// The biting edge's distance from the reference line (towards the other row positive),
        /// rounded off at the tooth's corners and pointed on a canine.
        let edge: Double
        /// Where the gum meets the crown (away from the other row negative of `edge`).
        let gumLine: Double
    }

    func sample(x: Double) -> Sample? {
        let a = abs(x)
        guard a < halfWidth * 0.995 else { return nil }
        let s = halfWidth * atanh(a / halfWidth)
        var k = 0
        while k + 1 < teeth.count && starts[k + 1] <= s { k += 1 }
        let tooth = teeth[k]
        let t = min(1, (s - starts[k]) / tooth.width)
        guard t < 1 else { return nil }
        let ratio = a / halfWidth
        let facing = 1 - ratio * ratio
        let fromGap = min(t, 1 - t)
        // Corners rounded over the outer quarter of each side: the V-shaped notches between teeth.
        let corner = max(0, 1 - fromGap / 0.25)
        let edge = -tooth.shortfall - rounding * corner * corner + tooth.cusp * (1 - abs(2 * t - 1))
        // The gum arches over each tooth: highest over its middle, down between teeth.
        let gumLine = edge - tooth.crown + 0.035 * (1 - sin(Double.pi * t))
        return Sample(
            index: k, t: t, s: s, facing: facing, gap: fromGap * tooth.width * facing, edge: edge, gumLine: gumLine)
    }
}
