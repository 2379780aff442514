import Foundation
import Voice

/// Turns voice features into a smooth mouth-shape track: `VoiceFeatures -> [MouthShape]`.
///
/// Loudness above the clip's own noise floor opens the mouth; the spectrum's balance shapes it
/// (energy low in the spectrum opens the jaw, a high centroid spreads the lips, hiss narrows the
/// opening to the teeth). The track is smoothed without phase lag and then led slightly, because
/// lips move before the sound they make.
public struct MouthShapeTrack: Sendable {
    /// How far the lips lead the sound, in seconds.
    public var lead = 0.06
    /// Smoothing time constant in seconds.
    public var smoothing = 0.035
    /// Overall mouth amplitude (the product's `expressiveness`).
    public var amplitude = 1.0
    /// Below this level (dBFS) nothing is speech, whatever the clip's own floor.
    public var absoluteSilence = -55.0

    public init() {}

    public func shapes(for features: VoiceFeatures) -> [MouthShape] {
        let frames = features.frames
        guard !frames.isEmpty else { return [] }
        let scale = features.speechLevels(absoluteSilence: absoluteSilence)
        let (peak, gate) = (scale.peak, scale.gate)

        var jaw = [Double](repeating: 0, count: frames.count)
        var gap = [Double](repeating: 0, count: frames.count)
        var spread = [Double](repeating: 0, count: frames.count)
        for (i, f) in frames.enumerated() {
            let open = clamp((f.loudness - gate) / max(peak - gate, 6), 0, 1)
            // Hiss (s, sh, f) keeps the teeth nearly together even when loud.
            let hiss = clamp((f.highBand - 0.35) / 0.4, 0, 1)
            let lowness = clamp(f.lowBand / max(f.lowBand + f.midBand, 1e-6), 0, 1)
            let opening = pow(open, 0.75) * (1 - 0.6 * hiss)
            jaw[i] = opening * (0.55 + 0.45 * lowness)
            gap[i] = opening
            spread[i] = open > 0 ? clamp((f.centroid - 1400) / 1600, -1, 1) * min(1, open * 2) : 0
        }
        let shift = lead * Double(features.fps)
        let alpha = 1 - exp(-1 / (smoothing * Double(features.fps)))
        let jawTrack = Self.advance(Self.zeroPhaseSmooth(jaw, alpha), by: shift)
        let gapTrack = Self.advance(Self.zeroPhaseSmooth(gap, alpha), by: shift)
        let spreadTrack = Self.advance(Self.zeroPhaseSmooth(spread, alpha * 0.7), by: shift)
        return (0..<frames.count).map { i in
            // A small dead zone: breath noise in pauses must not make the lips quiver.
            let deadZone = { (v: Double) in max(0, (v - 0.06) / 0.94) }
            return MouthShape(
                jawOpen: clamp(deadZone(jawTrack[i]) * amplitude, 0, 1.2),
                lipGap: clamp(deadZone(gapTrack[i]) * amplitude, 0, 1.2),
                spread: clamp(spreadTrack[i] * amplitude, -1, 1))
        }
    }

    /// A one-pole low-pass run forwards and then backwards: smooth, with no lag.
    static func zeroPhaseSmooth(_ values: [Double], _ alpha: Double) -> [Double] {
        guard let first = values.first else { return values }
        var out = values
        var state = first
        for i in out.indices {
            state += alpha * (out[i] - state)
            out[i] = state
        }
        state = out[out.count - 1]
        for i in out.indices.reversed() {
            state += alpha * (out[i] - state)
            out[i] = state
        }
        return out
    }

    /// `values` read `frames` later (fractional, linear), so the result leads the input.
    static func advance(_ values: [Double], by frames: Double) -> [Double] {
        guard values.count > 1 else { return values }
        return values.indices.map { i in
            let t = min(Double(values.count - 1), Double(i) + frames)
            let a = Int(t)
            let b = min(values.count - 1, a + 1)
            let f = t - Double(a)
            return values[a] * (1 - f) + values[b] * f
        }
    }
}

@inline(__always) func clamp(_ v: Double, _ lo: Double, _ hi: Double) -> Double { min(hi, max(lo, v)) }
