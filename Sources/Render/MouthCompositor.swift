import Face
import Foundation
import MouthpieceCore

/// Puts a real mouth from a `MouthBank` into a frame of footage.
///
/// The sample's lower face is aligned to the frame's face by a similarity fitted on the nose and the
/// eye corners, then warped piecewise (a mesh over the jaw, nose and lips) so that its opening is
/// exactly the one asked for: the warp covers only the small difference between the chosen real
/// mouth and the target. Its colour is corrected by a membrane: the differences from the frame
/// along the patch's edge are spread smoothly over the patch (normalised convolution), which
/// approximates a gradient-domain blend; the patch then goes in under a feathered mask that is zero
/// from the nostrils up and beyond the jaw, so the upper face and the background stay the frame's
/// own pixels.
public struct MouthCompositor: Sendable {
    /// Nose and eye corners: what aligns a sample to a frame.
    static let anchors = Array(27...35) + [36, 39, 42, 45]

    public init() {}

    /// Pastes `sample` into `frame`, whose face has `face` landmarks, with the lips `opening` eye
    /// distances apart at the middle.
    public func paste(_ sample: MouthSample, opening: Double, into frame: inout YUVImage, face: FaceLandmarks) {
        let iod = max(face.interocular, 1)
        let align = Similarity.fit(
            from: Self.anchors.map { sample.landmarks[$0] }, to: Self.anchors.map { face[$0] })
        let axis = (face.rightEyeCenter - face.leftEyeCenter) * (1 / iod)
        let down = Point(-axis.y, axis.x)

        // The mesh, in the sample's crop (source) and in the frame (target).
        let sampleIOD = max(sample.landmarks.interocular, 1)
        let tip = sample.landmarks[30]
        var source: [Point] = []
        var indexOf: [Int: Int] = [:]
        for i in Array(0...16) + Array(27...35) + Array(48...67) {
            indexOf[i] = source.count
            source.append(sample.landmarks[i])
        }
        for j in 0...16 {
            let p = sample.landmarks[j]
            let out = p - tip
            source.append(p + out * (0.55 * sampleIOD / max(out.length, 1)))
        }
        var target = source.map { align.apply($0) }
        // The remaining difference of opening: the lower lip and the chin move along the face's
        // vertical; never so far up that the lower lip crosses the upper.
        let delta = max(-sample.opening, opening - sample.opening) * iod
        if abs(delta) > 0.001 {
            func shift(_ i: Int, _ share: Double) { target[indexOf[i]!] += down * (delta * share) }
            for i in [55, 56, 57, 58, 59, 65, 66, 67] { shift(i, 1) }
            for i in [48, 54, 60, 64] { shift(i, 0.45) }
            for (j, share) in [
                (4, 0.15), (5, 0.4), (6, 0.7), (7, 0.9), (8, 1.0), (9, 0.9), (10, 0.7), (11, 0.4), (12, 0.15),
            ] {
                shift(j, share)
            }
        }

        // The mask: below the nostrils. At the sides it stays inside both faces' cheek lines (what
        // lies beyond is background, which differs between frames); at the chin it reaches a little
        // beyond the lower of the two chins, so the jaw line follows the mouth.
        func t(_ i: Int) -> Point { target[indexOf[i]!] }
        let noseTip = t(30)
        var polygon: [Point] = []
        for j in 2...14 {
            let (own, pasted) = (face[j], t(j))
            let chin = (6...10).contains(j)
            let ownReach = (own - noseTip).length
            let pastedReach = (pasted - noseTip).length
            let p = (ownReach > pastedReach) == chin ? own : pasted
            let out = p - noseTip
            polygon.append(p + out * ((chin ? 0.1 : -0.1) * iod / max(out.length, 1)))
        }
        polygon.append(t(14).lerp(to: t(35), 0.5) + down * (0.08 * iod))
        for i in [35, 34, 33, 32, 31] { polygon.append(t(i) + down * (0.08 * iod)) }
        polygon.append(t(2).lerp(to: t(31), 0.5) + down * (0.08 * iod))

        let bounds = Rect.bounding(polygon)
        let x0 = max(0, Int(bounds.minX) - 2) & ~1
        let y0 = max(0, Int(bounds.minY) - 2) & ~1
        let x1 = min(frame.width, (Int(bounds.maxX) + 4) & ~1)
        let y1 = min(frame.height, (Int(bounds.maxY) + 4) & ~1)
        guard x1 - x0 >= 8, y1 - y0 >= 8 else { return }
        let (w, h) = (x1 - x0, y1 - y0)
        let offset = Point(Double(x0), Double(y0))
        let local = target.map { $0 - offset }
        let triangles = Delaunay.triangulate(local)

        // Feathered mask: inside the polygon, ramping from 0 at its edge to 1 a feather inside.
        var mask = Self.rasterize(polygon.map { $0 - offset }, width: w, height: h)
        let feather = max(2, Int(0.1 * iod))
        BoxBlur.blur(&mask, width: w, height: h, radius: feather / 2, passes: 2)
        for i in mask.indices { mask[i] = min(1, max(0, 2 * mask[i] - 1)) }
        let membrane = max(4, Int(0.45 * iod))

        func blend(
            plane: inout [UInt8], planeWidth: Int, samplePlane: [UInt8], sampleWidth: Int, sampleHeight: Int,
            scale: Double, region: (x0: Int, y0: Int, w: Int, h: Int), mask: [Float], radius: Int
        ) {
            let (rx, ry, rw, rh) = region
            var warped = [UInt8](repeating: 0, count: rw * rh)
            samplePlane.withUnsafeBufferPointer { src in
                warped.withUnsafeMutableBufferPointer { out in
                    for (a, b, c) in triangles {
                        TriangleWarp.warp(
                            from: src.baseAddress!, sourceWidth: sampleWidth, sourceHeight: sampleHeight,
                            into: out.baseAddress!, width: rw, height: rh,
                            target: (local[a] * scale, local[b] * scale, local[c] * scale),
                            origin: (source[a] * scale, source[b] * scale, source[c] * scale))
                    }
                }
            }
            // Membrane: the frame-minus-patch difference along the feather band, spread inwards.
            var difference = [Float](repeating: 0, count: rw * rh)
            var weight = [Float](repeating: 0, count: rw * rh)
            var total: Float = 0
            var totalWeight: Float = 0
            for row in 0..<rh {
                for x in 0..<rw {
                    let i = row * rw + x
                    let m = mask[i]
                    guard m > 0.02 && m < 0.98 else { continue }
                    let d = Float(plane[(ry + row) * planeWidth + rx + x]) - Float(warped[i])
                    difference[i] = d
                    weight[i] = 1
                    total += d
                    totalWeight += 1
                }
            }
            guard totalWeight > 0 else { return }
            BoxBlur.blur(&difference, width: rw, height: rh, radius: radius, passes: 2)
            BoxBlur.blur(&weight, width: rw, height: rh, radius: radius, passes: 2)
            let fallback = total / totalWeight
            for row in 0..<rh {
                for x in 0..<rw {
                    let i = row * rw + x
                    let m = mask[i]
                    guard m > 0 else { continue }
                    let eps: Float = 1e-3
                    let correction = (difference[i] + eps * fallback) / (weight[i] + eps)
                    let o = (ry + row) * planeWidth + rx + x
                    let patched = Float(warped[i]) + correction
                    let value = m * patched + (1 - m) * Float(plane[o])
                    plane[o] = UInt8(min(255, max(0, value.rounded())))
                }
            }
        }

        blend(
            plane: &frame.y, planeWidth: frame.width, samplePlane: sample.crop.y, sampleWidth: sample.crop.width,
            sampleHeight: sample.crop.height, scale: 1, region: (x0, y0, w, h), mask: mask, radius: membrane)
        // Chroma at half resolution: the mask subsampled.
        let (cw, ch) = (w / 2, h / 2)
        var chromaMask = [Float](repeating: 0, count: cw * ch)
        for row in 0..<ch {
            for x in 0..<cw {
                let i = 2 * row * w + 2 * x
                chromaMask[row * cw + x] = (mask[i] + mask[i + 1] + mask[i + w] + mask[i + w + 1]) / 4
            }
        }
        let chromaRegion = (x0 / 2, y0 / 2, cw, ch)
        for plane in 0..<2 {
            let samplePlane = plane == 0 ? sample.crop.u : sample.crop.v
            if plane == 0 {
                blend(
                    plane: &frame.u, planeWidth: frame.chromaWidth, samplePlane: samplePlane,
                    sampleWidth: sample.crop.chromaWidth, sampleHeight: sample.crop.chromaHeight, scale: 0.5,
                    region: chromaRegion, mask: chromaMask, radius: membrane / 2)
            } else {
                blend(
                    plane: &frame.v, planeWidth: frame.chromaWidth, samplePlane: samplePlane,
                    sampleWidth: sample.crop.chromaWidth, sampleHeight: sample.crop.chromaHeight, scale: 0.5,
                    region: chromaRegion, mask: chromaMask, radius: membrane / 2)
            }
        }
    }

    /// 1 inside `polygon` (pixel centres), 0 outside: even-odd scanline fill.
    static func rasterize(_ polygon: [Point], width: Int, height: Int) -> [Float] {
        var out = [Float](repeating: 0, count: width * height)
        for row in 0..<height {
            let y = Double(row) + 0.5
            var crossings: [Double] = []
            for k in polygon.indices {
                let a = polygon[k]
                let b = polygon[(k + 1) % polygon.count]
                if (a.y <= y) != (b.y <= y) { crossings.append(a.x + (y - a.y) / (b.y - a.y) * (b.x - a.x)) }
            }
            crossings.sort()
            var k = 0
            while k + 1 < crossings.count {
                let from = max(0, Int((crossings[k] - 0.5).rounded(.up)))
                let to = min(width - 1, Int((crossings[k + 1] - 0.5).rounded(.down)))
                if from <= to { for x in from...to { out[row * width + x] = 1 } }
                k += 2
            }
        }
        return out
    }
}

extension BoxBlur {
    /// Blurs a float plane in place by running sums (cost independent of the radius). Edges repeat.
    static func blur(_ values: inout [Float], width: Int, height: Int, radius: Int, passes: Int) {
        guard radius > 0 else { return }
        var line = [Float](repeating: 0, count: max(width, height))
        for _ in 0..<passes {
            for row in 0..<height {
                for x in 0..<width { line[x] = values[row * width + x] }
                runningMean(line, count: width, radius: radius) { x, v in values[row * width + x] = v }
            }
            for x in 0..<width {
                for row in 0..<height { line[row] = values[row * width + x] }
                runningMean(line, count: height, radius: radius) { row, v in values[row * width + x] = v }
            }
        }
    }

    @inline(__always)
    private static func runningMean(_ line: [Float], count: Int, radius: Int, _ store: (Int, Float) -> Void) {
        let span = Float(2 * radius + 1)
        var sum: Float = 0
        for k in -radius...radius { sum += line[min(count - 1, max(0, k))] }
        for i in 0..<count {
            store(i, sum / span)
            sum += line[min(count - 1, i + radius + 1)] - line[max(0, i - radius)]
        }
    }
}
