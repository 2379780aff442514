import CWarpKernel
import MouthpieceCore

/// Piecewise-affine warp of one triangle on one 8-bit plane: every output sample whose centre lies
/// in the target triangle takes the bilinear sample of the source plane at the matching place in
/// the source triangle (inverse mapping, so there are no holes). Planes are tightly packed.
enum TriangleWarp {
    /// Warps from `source` into `frame` (same size, `width` x `height` samples), and from
    /// `also.source` into `also.frame` (a plane of the same size warped the same way: V beside U)
    /// with the same spans. The buffers are borrowed for the call only. Only output rows in `rows`
    /// are written (all by default), so that threads may warp disjoint bands of one frame at once,
    /// each sample exactly as a whole warp would make it.
    @inline(__always)
    static func warp(
        from source: UnsafePointer<UInt8>, into frame: UnsafeMutablePointer<UInt8>,
        also: (source: UnsafePointer<UInt8>, frame: UnsafeMutablePointer<UInt8>)? = nil, width: Int, height: Int,
        target: (Point, Point, Point), origin: (Point, Point, Point), rows: Range<Int> = 0..<Int.max
    ) {
        warp(
            from: source, sourceWidth: width, sourceHeight: height, into: frame, also: also, width: width,
            height: height, target: target, origin: origin, rows: rows)
    }

    /// Warps from `source` (`sourceWidth` x `sourceHeight`) into `frame` (`width` x `height`).
    @inline(__always)
    static func warp(
        from source: UnsafePointer<UInt8>, sourceWidth: Int, sourceHeight: Int, into frame: UnsafeMutablePointer<UInt8>,
        also: (source: UnsafePointer<UInt8>, frame: UnsafeMutablePointer<UInt8>)? = nil,
        width: Int, height: Int, target: (Point, Point, Point), origin: (Point, Point, Point),
        rows: Range<Int> = 0..<Int.max
    ) {
        let (t0, t1, t2) = target
        let e1 = t1 - t0
        let e2 = t2 - t0
        let det = e1.x * e2.y - e2.x * e1.y
        guard abs(det) > 1e-6 else { return }
        // Source = A * (p - t0) + s0, with A = S * T^-1.
        let s1 = origin.1 - origin.0
        let s2 = origin.2 - origin.0
        let inv = 1 / det
        let i00 = e2.y * inv, i01 = -e2.x * inv, i10 = -e1.y * inv, i11 = e1.x * inv
        let a00 = s1.x * i00 + s2.x * i10
        let a01 = s1.x * i01 + s2.x * i11
        let a10 = s1.y * i00 + s2.y * i10
        let a11 = s1.y * i01 + s2.y * i11
        let s0 = origin.0

        let minX = max(0, Int((min(t0.x, t1.x, t2.x) - 0.5).rounded(.down)))
        let maxX = min(width - 1, Int((max(t0.x, t1.x, t2.x) - 0.5).rounded(.up)))
        let minY = max(0, rows.lowerBound, Int((min(t0.y, t1.y, t2.y) - 0.5).rounded(.down)))
        let maxY = min(height - 1, rows.upperBound - 1, Int((max(t0.y, t1.y, t2.y) - 0.5).rounded(.up)))
        guard minX <= maxX, minY <= maxY else { return }
        // Edge functions, oriented so that inside is >= 0 whatever the winding; a tiny tolerance
        // makes shared edges covered by both neighbours rather than by neither. Each row is
        // solved for the span of x inside all three edges, so only covered pixels are visited.
        let sign: Double = det > 0 ? 1 : -1
        let eps = -1e-7
        let maxSX = Double(sourceWidth - 1)
        let maxSY = Double(sourceHeight - 1)
        let stride = width
        let sourceStride = sourceWidth
        // Per edge: inside when slope * px + offset(py) >= eps, offset(py) = k1 * py + k0.
        func edge(_ a: Point, _ b: Point) -> (slope: Double, k1: Double, k0: Double) {
            (-sign * (b.y - a.y), sign * (b.x - a.x), sign * (-(b.x - a.x) * a.y + (b.y - a.y) * a.x))
        }
        let edgeA = edge(t0, t1)
        let edgeB = edge(t1, t2)
        let edgeC = edge(t2, t0)
        for y in minY...maxY {
            let py = Double(y) + 0.5
            var lo = Double(minX) + 0.5
            var hi = Double(maxX) + 0.5
            @inline(__always) func clip(_ e: (slope: Double, k1: Double, k0: Double)) {
                let offset = e.k1 * py + e.k0
                if e.slope > 0 {
                    lo = max(lo, (eps - offset) / e.slope - 1e-9)
                } else if e.slope < 0 {
                    hi = min(hi, (eps - offset) / e.slope + 1e-9)
                } else if offset < eps {
                    hi = -1
                }
            }
            clip(edgeA)
            clip(edgeB)
            clip(edgeC)
            let x0 = max(minX, Int((lo - 0.5).rounded(.up)))
            let x1 = min(maxX, Int((hi - 0.5).rounded(.down)))
            guard x0 <= x1 else { continue }
            // Source position at the span's first pixel centre, then stepped per pixel, in fixed
            // point with 20 fractional bits (exact enough over any span a frame can hold).
            let one = Double(1 << 20)
            let dx0 = Double(x0) + 0.5 - t0.x
            let dy = py - t0.y
            // Pixel centres sit at +0.5; sample positions are in centre coordinates.
            let sx = Int(((s0.x + a00 * dx0 + a01 * dy - 0.5) * one).rounded())
            let sy = Int(((s0.y + a10 * dx0 + a11 * dy - 0.5) * one).rounded())
            let stepX = Int((a00 * one).rounded())
            let stepY = Int((a10 * one).rounded())
            let maxFX = Int(maxSX * one)
            let maxFY = Int(maxSY * one)
            let o = y &* stride &+ x0
            // The source moves linearly along the span: when both ends sit well inside the
            // plane, every sample does, and the loop needs no clamping.
            let endX = sx &+ stepX &* (x1 - x0)
            let endY = sy &+ stepY &* (x1 - x0)
            let limitX = (sourceWidth - 2) << 20
            let limitY = (sourceHeight - 2) << 20
            let inside =
                min(sx, endX) >= 0 && max(sx, endX) < limitX && min(sy, endY) >= 0 && max(sy, endY) < limitY
            span(source, frame, inside: inside)
            if let also { span(also.source, also.frame, inside: inside) }

            @inline(__always) func span(
                _ source: UnsafePointer<UInt8>, _ frame: UnsafeMutablePointer<UInt8>, inside: Bool
            ) {
                var (sx, sy, o) = (sx, sy, o)
                if inside {
                    // Every sample inside the plane: the kernel, eight at a time where the CPU can.
                    mp_warp_span(source, sourceStride, frame + o, x1 - x0 + 1, sx, sy, stepX, stepY)
                    return
                }
                for _ in x0...x1 {
                    let cx = min(maxFX, max(0, sx))
                    let cy = min(maxFY, max(0, sy))
                    let ix = cx >> 20
                    let iy = cy >> 20
                    let fx = (cx >> 12) & 255
                    let fy = (cy >> 12) & 255
                    let nx = ix < sourceWidth - 1 ? 1 : 0
                    let ny = iy < sourceHeight - 1 ? sourceStride : 0
                    let p = iy &* sourceStride &+ ix
                    let a = Int(source[p])
                    let b = Int(source[p &+ nx])
                    let d = Int(source[p &+ ny])
                    let e = Int(source[p &+ ny &+ nx])
                    let top = a &* (256 &- fx) &+ b &* fx
                    let bottom = d &* (256 &- fx) &+ e &* fx
                    frame[o] = UInt8(truncatingIfNeeded: (top &* (256 &- fy) &+ bottom &* fy &+ 32768) >> 16)
                    sx &+= stepX
                    sy &+= stepY
                    o &+= 1
                }
            }
        }
    }
}
