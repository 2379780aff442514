import MouthpieceCore

/// Delaunay triangulation of a point set (Bowyer–Watson), as index triples, counter-clockwise in
/// image coordinates (y down: positive signed area).
enum Delaunay {
    struct Triangle {
        var a: Int, b: Int, c: Int
        var center: Point
        var radius2: Double
    }

    static func triangulate(_ points: [Point]) -> [(Int, Int, Int)] {
        guard points.count >= 3 else { return [] }
        let bounds = Rect.bounding(points)
        let span = max(bounds.width, bounds.height) * 20 + 1
        let mid = bounds.center
        // A super-triangle holding every point; its corners are removed at the end.
        var all = points
        all.append(Point(mid.x - span, mid.y - span))
        all.append(Point(mid.x + span, mid.y - span))
        all.append(Point(mid.x, mid.y + span))
        let n = points.count
        var triangles = [make(n, n + 1, n + 2, all)]
        for i in 0..<n {
            let p = all[i]
            var bad: [Int] = []
            for (k, t) in triangles.enumerated() where (p - t.center).lengthSquared < t.radius2 {
                bad.append(k)
            }
            // The hole's boundary: edges of bad triangles that no other bad triangle shares.
            var edges: [(Int, Int)] = []
            for k in bad {
                let t = triangles[k]
                for e in [(t.a, t.b), (t.b, t.c), (t.c, t.a)] {
                    if let j = edges.firstIndex(where: { $0 == (e.1, e.0) || $0 == e }) {
                        edges.remove(at: j)
                    } else {
                        edges.append(e)
                    }
                }
            }
            for k in bad.reversed() { triangles.remove(at: k) }
            for e in edges { triangles.append(make(e.0, e.1, i, all)) }
        }
        return triangles.filter { $0.a < n && $0.b < n && $0.c < n }.map { t in
            area(all[t.a], all[t.b], all[t.c]) >= 0 ? (t.a, t.b, t.c) : (t.a, t.c, t.b)
        }
    }

    static func area(_ a: Point, _ b: Point, _ c: Point) -> Double {
        ((b.x - a.x) * (c.y - a.y) - (c.x - a.x) * (b.y - a.y)) / 2
    }

    private static func make(_ a: Int, _ b: Int, _ c: Int, _ p: [Point]) -> Triangle {
        let (A, B, C) = (p[a], p[b], p[c])
        let d = 2 * (A.x * (B.y - C.y) + B.x * (C.y - A.y) + C.x * (A.y - B.y))
        guard abs(d) > 1e-12 else { return Triangle(a: a, b: b, c: c, center: A, radius2: .infinity) }
        let a2 = A.x * A.x + A.y * A.y
        let b2 = B.x * B.x + B.y * B.y
        let c2 = C.x * C.x + C.y * C.y
        let center = Point(
            (a2 * (B.y - C.y) + b2 * (C.y - A.y) + c2 * (A.y - B.y)) / d,
            (a2 * (C.x - B.x) + b2 * (A.x - C.x) + c2 * (B.x - A.x)) / d)
        return Triangle(a: a, b: b, c: c, center: center, radius2: (A - center).lengthSquared)
    }
}

extension Point {
    var lengthSquared: Double { x * x + y * y }
}
