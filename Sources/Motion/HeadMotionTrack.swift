import Foundation
import MouthpieceCore
import Voice

/// Slow, irregular head motion that follows the voice: small drifting turns, nods and brow lifts
/// on stressed syllables, calmer in pauses, a breathing sway when silent. `scale` 0 is perfectly
/// still; the same seed gives the same motion.
public struct HeadMotionTrack: Sendable {
    /// Overall amplitude (the product's `head_motion`), 0 to 2.
    public var scale = 1.0
    /// Drift amplitudes at scale 1, in degrees.
    public var yawDegrees = 3.0
    public var pitchDegrees = 1.8
    public var rollDegrees = 1.2
    /// Extra nod on a stressed syllable, in degrees.
    public var nodDegrees = 1.6

    public init() {}

    /// Motion for each frame of `features` (pass silent features for an idle portrait);
    /// `firstFrame` is the first one's index in a longer stream (the drift follows the stream's
    /// clock) and `levels` its loudness scale.
    public func motion(
        for features: VoiceFeatures, seed: UInt64, firstFrame: Int = 0, levels loudnessScale: SpeechLevels? = nil
    ) -> [HeadMotion] {
        let count = features.frames.count
        guard count > 0 else { return [] }
        guard scale > 0 else { return [HeadMotion](repeating: .still, count: count) }
        let fps = Double(features.fps)
        var random = SeededRandom(seed: seed ^ 0x4EAD_0001)
        // Each axis drifts as a sum of three slow sines with seeded rates and phases.
        func drift() -> (Double) -> Double {
            let parts = (0..<3).map { _ in
                (
                    rate: random.uniform(0.05...0.25), phase: random.uniform(0...(2 * .pi)),
                    weight: random.uniform(0.5...1)
                )
            }
            let total = parts.reduce(0) { $0 + $1.weight }
            return { t in parts.reduce(0) { $0 + $1.weight * sin(2 * .pi * $1.rate * t + $1.phase) } / total }
        }
        let yawDrift = drift()
        let pitchDrift = drift()
        let rollDrift = drift()
        let breathPhase = random.uniform(0...(2 * .pi))

        // Speech activity (0 silent ... 1 speaking) and stress (loudness well above its recent level).
        let levels = features.frames.map(\.loudness)
        let gate = loudnessScale?.gate ?? features.speechLevels().gate
        var activity = levels.map { $0 > gate ? 1.0 : 0.0 }
        activity = Self.smooth(activity, seconds: 0.6, fps: fps)
        let slowLevel = Self.smooth(levels.map { max($0, gate) }, seconds: 0.5, fps: fps)
        var stress = zip(levels, slowLevel).map { max(0, min(1, ($0 - $1 - 2) / 8)) }
        stress = Self.smooth(stress, seconds: 0.12, fps: fps)

        let degree = Double.pi / 180
        return (0..<count).map { n in
            let t = Double(n + firstFrame) / fps
            let calm = 0.7 + 0.3 * activity[n]
            let breathing = (1 - activity[n]) * sin(2 * .pi * 0.23 * t + breathPhase)
            return HeadMotion(
                yaw: scale * degree * yawDegrees * calm * yawDrift(t),
                pitch: scale * degree
                    * (pitchDegrees * calm * pitchDrift(t) + nodDegrees * stress[n] + 0.35 * breathing),
                roll: scale * degree * rollDegrees * calm * rollDrift(t),
                browLift: min(1, scale * stress[n]))
        }
    }

    /// Zero-phase smoothing with a time constant in seconds.
    static func smooth(_ values: [Double], seconds: Double, fps: Double) -> [Double] {
        MouthShapeTrack.zeroPhaseSmooth(values, 1 - exp(-1 / max(seconds * fps, 1e-6)))
    }
}
