/// A point (or vector) in pixel coordinates, x to the right and y down.
public struct Point: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var x: Double
    public var y: Double

    public init(_ x: Double, _ y: Double) {
        self.x = x
        self.y = y
    }

    public static let zero = Point(0, 0)

    public static func + (a: Point, b: Point) -> Point { Point(a.x + b.x, a.y + b.y) }
    public static func - (a: Point, b: Point) -> Point { Point(a.x - b.x, a.y - b.y) }
    public static func * (a: Point, s: Double) -> Point { Point(a.x * s, a.y * s) }
    public static func += (a: inout Point, b: Point) { a = a + b }

    public var length: Double { (x * x + y * y).squareRoot() }

    public func distance(to other: Point) -> Double { (self - other).length }

    /// Linear interpolation: `t == 0` is self, `t == 1` is `other`.
    public func lerp(to other: Point, _ t: Double) -> Point { self + (other - self) * t }

    public var description: String { "(\(x.formatted(1)), \(y.formatted(1)))" }

    /// The mean of a non-empty list of points.
    public static func mean(_ points: [Point]) -> Point {
        var sum = Point.zero
        for p in points { sum += p }
        return sum * (1 / Double(max(points.count, 1)))
    }
}

/// An axis-aligned rectangle in pixel coordinates.
public struct Rect: Equatable, Sendable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var minX: Double { x }
    public var minY: Double { y }
    public var maxX: Double { x + width }
    public var maxY: Double { y + height }
    public var center: Point { Point(x + width / 2, y + height / 2) }
    public var area: Double { max(0, width) * max(0, height) }

    /// The smallest rectangle holding every point.
    public static func bounding(_ points: [Point]) -> Rect {
        var lo = Point(.infinity, .infinity)
        var hi = Point(-.infinity, -.infinity)
        for p in points {
            lo = Point(min(lo.x, p.x), min(lo.y, p.y))
            hi = Point(max(hi.x, p.x), max(hi.y, p.y))
        }
        return Rect(x: lo.x, y: lo.y, width: hi.x - lo.x, height: hi.y - lo.y)
    }

    /// Grown by `dx` on the left and right and `dy` on the top and bottom.
    public func insetBy(dx: Double, dy: Double) -> Rect {
        Rect(x: x + dx, y: y + dy, width: width - 2 * dx, height: height - 2 * dy)
    }

    public func contains(_ other: Rect) -> Bool {
        other.minX >= minX && other.minY >= minY && other.maxX <= maxX && other.maxY <= maxY
    }

    public func intersection(_ other: Rect) -> Rect {
        let x0 = max(minX, other.minX)
        let y0 = max(minY, other.minY)
        let x1 = min(maxX, other.maxX)
        let y1 = min(maxY, other.maxY)
        return Rect(x: x0, y: y0, width: max(0, x1 - x0), height: max(0, y1 - y0))
    }
}

extension Double {
    /// Fixed-point text without Foundation's formatters (used in messages and summaries).
    public func formatted(_ decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (self * scale).rounded() / scale
        if decimals == 0 { return String(Int(rounded)) }
        let negative = rounded < 0
        let magnitude = abs(rounded)
        let whole = Int(magnitude)
        let fraction = Int(((magnitude - Double(whole)) * scale).rounded())
        var digits = String(fraction)
        while digits.count < decimals { digits = "0" + digits }
        return (negative ? "-" : "") + "\(whole).\(digits)"
    }
}

extension String {
    /// Text from a NUL-terminated C character buffer.
    public init(cBuffer: [CChar]) {
        self.init(decoding: cBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A similarity transform (rotation, uniform scale, translation): `p' = [a -b; b a] p + t`.
public struct Similarity: Equatable, Sendable {
    public var a: Double
    public var b: Double
    public var t: Point

    public init(a: Double, b: Double, t: Point) {
        self.a = a
        self.b = b
        self.t = t
    }

    public static let identity = Similarity(a: 1, b: 0, t: .zero)

    public var scale: Double { (a * a + b * b).squareRoot() }

    public func apply(_ p: Point) -> Point { Point(a * p.x - b * p.y + t.x, b * p.x + a * p.y + t.y) }

    public var inverse: Similarity {
        let n = max(a * a + b * b, 1e-12)
        let (ia, ib) = (a / n, -b / n)
        return Similarity(a: ia, b: ib, t: Point(-(ia * t.x - ib * t.y), -(ib * t.x + ia * t.y)))
    }

    /// The least-squares similarity taking `source[i]` to `target[i]` (Umeyama's closed form).
    public static func fit(from source: [Point], to target: [Point]) -> Similarity {
        precondition(source.count == target.count && !source.isEmpty, "matching point lists expected")
        let cs = Point.mean(source)
        let ct = Point.mean(target)
        var (sxx, sxy, norm) = (0.0, 0.0, 0.0)
        for (p, q) in zip(source, target) {
            let u = p - cs
            let v = q - ct
            sxx += u.x * v.x + u.y * v.y
            sxy += u.x * v.y - u.y * v.x
            norm += u.x * u.x + u.y * u.y
        }
        guard norm > 1e-12 else { return Similarity(a: 1, b: 0, t: ct - cs) }
        let a = sxx / norm
        let b = sxy / norm
        return Similarity(a: a, b: b, t: ct - Point(a * cs.x - b * cs.y, b * cs.x + a * cs.y))
    }
}
