import Foundation
import Voice

/// Turns voice features into a smooth mouth-shape track: `VoiceFeatures -> [MouthShape]`.
///
/// Language-free, from acoustics alone. Loudness above the clip's own noise floor opens the mouth;
/// the first formant (F1, high on open vowels) shares out the opening between jaw and lips; the
/// second (F2) spreads the lips when high ("ee") and rounds them when low with a low F1 ("oo");
/// hiss keeps the teeth together and lifts the upper lip ("s"), weaker broadband friction tucks the
/// lower lip under the teeth ("f", "v"). Short dips in loudness inside speech, the silence of a stop
/// before its burst ("p", "b", "t"), close the lips and hold them closed at least `minimumClosure`.
/// Every control is smoothed without phase lag and then led, because lips move before the sound
/// they make.
public struct MouthShapeTrack: Sendable {
    /// How far the lips lead the sound, in seconds (0.04 to 0.1 is natural).
    public var lead = 0.06
    /// Smoothing time constant in seconds.
    public var smoothing = 0.035
    /// Overall mouth amplitude (the product's `expressiveness`).
    public var amplitude = 1.0
    /// Below this level (dBFS) nothing is speech, whatever the clip's own floor.
    public var absoluteSilence = -55.0
    /// The shortest closure worth showing, in seconds.
    public var minimumClosure = 0.04

    public init() {}

    /// The mouth for every frame of `features`, on the clip's own loudness scale unless `levels`
    /// gives one (a live stream's, measured over what came before).
    public func shapes(for features: VoiceFeatures, levels: SpeechLevels? = nil) -> [MouthShape] {
        let frames = features.frames
        guard !frames.isEmpty else { return [] }
        let scale = levels ?? features.speechLevels(absoluteSilence: absoluteSilence)
        let gate = scale.gate
        let count = frames.count

        var jaw = [Double](repeating: 0, count: count)
        var gap = [Double](repeating: 0, count: count)
        var spread = [Double](repeating: 0, count: count)
        var rounding = [Double](repeating: 0, count: count)
        var raise = [Double](repeating: 0, count: count)
        var tuck = [Double](repeating: 0, count: count)
        for (i, f) in frames.enumerated() {
            let open = scale.openness(f.loudness)
            guard open > 0 else { continue }
            // Hiss (s, sh, f) keeps the teeth nearly together even when loud.
            let hiss = clamp((f.highBand - 0.35) / 0.4, 0, 1)
            let sibilant = clamp((f.centroid - 3000) / 1500, 0, 1)
            let voiced = f.f1 > 0
            // Jaw share: from F1 when the voice resonates, else from the low band's weight.
            let lowness =
                voiced
                ? clamp((f.f1 - 300) / 450, 0, 1)
                : clamp(f.lowBand / max(f.lowBand + f.midBand, 1e-6), 0, 1)
            // The vowel decides, loudness scales (as on the script path): a voiced frame opens by
            // its F1 (vowel height: "a" wide, "i" and "u" narrow), held through quieter stretches
            // of the same vowel, from 0.4 of that at the gate to all of it towards the clip's peak.
            let level = pow(open, 0.75)
            let vowelOpening = voiced ? 0.45 + 0.75 * lowness : 1
            let opening = min(1, vowelOpening * (0.35 + 0.9 * level)) * (1 - 0.6 * hiss)
            jaw[i] = opening * (0.5 + 0.5 * lowness)
            gap[i] = opening
            let presence = min(1, open * 2)
            if voiced && f.f2 > 0 {
                spread[i] = clamp((f.f2 - 1500) / 700, -1, 1) * presence
                rounding[i] = clamp((1250 - f.f2) / 350, 0, 1) * clamp((650 - f.f1) / 200, 0, 1) * presence
            } else {
                spread[i] = clamp((f.centroid - 1400) / 1600, -1, 1) * presence
            }
            raise[i] = (0.6 * hiss * sibilant + 0.3 * max(0, spread[i])) * presence
            tuck[i] = hiss * (1 - sibilant) * (voiced ? 0.5 : 1) * presence
        }
        let closures = Self.closures(frames, gate: gate, fps: features.fps, minimum: minimumClosure)
        return finish(
            Controls(jaw: jaw, gap: gap, spread: spread, rounding: rounding, raise: raise, tuck: tuck),
            closures: closures, fps: features.fps)
    }

    /// Raw per-frame targets of each control, before smoothing.
    struct Controls {
        var jaw, gap, spread, rounding, raise, tuck: [Double]

        init(count: Int) {
            let zero = [Double](repeating: 0, count: count)
            (jaw, gap, spread, rounding, raise, tuck) = (zero, zero, zero, zero, zero, zero)
        }

        init(jaw: [Double], gap: [Double], spread: [Double], rounding: [Double], raise: [Double], tuck: [Double]) {
            (self.jaw, self.gap, self.spread, self.rounding, self.raise, self.tuck) =
                (jaw, gap, spread, rounding, raise, tuck)
        }
    }

    /// The coarticulation shared by the audio and the script paths: every control smoothed
    /// without lag and led; closures laid over the result.
    func finish(_ raw: Controls, closures: [Double], fps: Int) -> [MouthShape] {
        let count = raw.jaw.count
        let shift = lead * Double(fps)
        let alpha = 1 - exp(-1 / (smoothing * Double(fps)))
        func track(_ values: [Double], _ alpha: Double) -> [Double] {
            Self.advance(Self.zeroPhaseSmooth(values, alpha), by: shift)
        }
        // Closures are applied after smoothing (a smoothed two-frame closure would never close),
        // with a light smoothing of their own so the lips do not snap. They are not led like the
        // rest (and by whole frames, so a one-frame closure shuts fully): the silence of a closure is
        // the lips' own doing, so it is heard as they shut.
        let shut = Self.advance(Self.zeroPhaseSmooth(closures, min(1, alpha * 1.6)), by: (shift * 0.25).rounded())
        let jawTrack = track(raw.jaw, alpha)
        let gapTrack = track(raw.gap, alpha)
        let spreadTrack = track(raw.spread, alpha * 0.7)
        let roundTrack = track(raw.rounding, alpha * 0.7)
        let raiseTrack = track(raw.raise, alpha * 0.7)
        let tuckTrack = track(raw.tuck, alpha)
        return (0..<count).map { i in
            // A small dead zone: breath noise in pauses must not make the lips quiver.
            let deadZone = { (v: Double) in max(0, (v - 0.06) / 0.94) }
            let keep = 1 - clamp(shut[i], 0, 1)
            return MouthShape(
                jawOpen: clamp(deadZone(jawTrack[i]) * amplitude * keep, 0, 1.2),
                lipGap: clamp(deadZone(gapTrack[i]) * amplitude * keep, 0, 1.2),
                spread: clamp(spreadTrack[i] * amplitude, -1, 1),
                rounding: clamp(roundTrack[i] * amplitude, 0, 1),
                upperLipRaise: clamp(raiseTrack[i] * amplitude * keep, 0, 1),
                lowerLipTuck: clamp(tuckTrack[i] * amplitude * keep, 0, 1))
        }
    }

    /// Widens each closure to last at least `minimum` seconds, reaching back from the silence: the
    /// lips shut as the sound before them fades.
    static func hold(_ shut: [Double], fps: Int, minimum: Double) -> [Double] {
        let hold = max(1, Int((minimum * Double(fps)).rounded()))
        var held = shut
        for i in shut.indices where shut[i] > 0 {
            for j in max(0, i - hold + 1)...i { held[j] = max(held[j], shut[i]) }
        }
        return held
    }

    /// 1 at frames where the lips are shut inside speech: a dip in loudness of 10 dB or more below
    /// both sides within 150 ms (a stop's closure before its burst), or a nasal murmur (voiced,
    /// nearly all below 250 Hz, centroid under 450 Hz); widened to last at least `minimum` seconds.
    static func closures(_ frames: [VoiceFrame], gate: Double, fps: Int, minimum: Double) -> [Double] {
        let count = frames.count
        var shut = [Double](repeating: 0, count: count)
        let reach = max(1, Int((0.15 * Double(fps)).rounded()))
        for i in 0..<count {
            let level = frames[i].loudness
            let before = frames[max(0, i - reach)..<i].map(\.loudness).max() ?? -100
            let after = frames[(i + 1)..<min(count, i + 1 + reach)].map(\.loudness).max() ?? -100
            // A nasal murmur ("m", and "n" with it): voiced, nearly all below 250 Hz, a little quieter
            // than the vowels beside it; the mouth is shut while the sound leaves by the nose.
            let f = frames[i]
            let louder = max(before, after)
            let nasal =
                level > gate && louder > gate
                ? clamp((f.bassBand - 0.45) / 0.15, 0, 1) * clamp((450 - f.centroid) / 80, 0, 1)
                    * clamp((louder - level - 5) / 4, 0, 1) : 0
            // A stop: both sides must be speech (a pause at the end of a phrase is silence, which
            // gating closes).
            let dip = before > gate && after > gate ? min(before, after) - level : 0
            shut[i] = max(clamp((dip - 10) / 6, 0, 1), nasal)
        }
        return hold(shut, fps: fps, minimum: minimum)
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
