/// Features of the voice at one video frame's instant.
public struct VoiceFrame: Equatable, Sendable {
    /// Level of the window around the frame, in dB relative to full scale (-100 for digital silence).
    public var loudness: Double
    /// Share of energy in the first-formant band (200–900 Hz): high on open vowels.
    public var lowBand: Double
    /// Share in the second-formant band (900–2500 Hz): high on spread vowels ("ee").
    public var midBand: Double
    /// Share above 3 kHz: high on fricatives and sibilants.
    public var highBand: Double
    /// Share below 250 Hz (the voice's fundamental and a nasal's murmur): high on /m n/, whose
    /// sound leaves by the nose while the mouth is shut.
    public var bassBand: Double
    /// Spectral centroid in Hz.
    public var centroid: Double
    /// First and second formants in Hz (linear prediction), 0 where none stands out.
    public var f1: Double
    public var f2: Double

    public init(
        loudness: Double, lowBand: Double, midBand: Double, highBand: Double, centroid: Double, f1: Double = 0,
        f2: Double = 0, bassBand: Double = 0
    ) {
        self.bassBand = bassBand
        self.loudness = loudness
        self.lowBand = lowBand
        self.midBand = midBand
        self.highBand = highBand
        self.centroid = centroid
        self.f1 = f1
        self.f2 = f2
    }
}

/// One `VoiceFrame` per output video frame.
public struct VoiceFeatures: Sendable {
    public let fps: Int
    public let frames: [VoiceFrame]

    public init(fps: Int, frames: [VoiceFrame]) {
        self.fps = fps
        self.frames = frames
    }

    /// `count` frames of silence: no voice at all.
    public static func silent(fps: Int, count: Int) -> VoiceFeatures {
        let quiet = VoiceFrame(loudness: -100, lowBand: 0, midBand: 0, highBand: 0, centroid: 0)
        return VoiceFeatures(fps: fps, frames: [VoiceFrame](repeating: quiet, count: count))
    }
}

/// The loudness scale of a clip, from its own levels: the noise floor, the speech level, and the
/// gate between them above which a frame counts as speech.
public struct SpeechLevels: Sendable {
    public let floor: Double
    public let peak: Double
    public let gate: Double

    public init(floor: Double, peak: Double, gate: Double) {
        self.floor = floor
        self.peak = peak
        self.gate = gate
    }

    /// How far a frame's loudness stands into speech: 0 at the gate and below, 1 at the speech
    /// level (the range is at least 6 dB).
    public func openness(_ loudness: Double) -> Double {
        min(1, max(0, (loudness - gate) / max(peak - gate, 6)))
    }
}

extension VoiceFeatures {
    /// Floor at the 10th percentile, speech level at the 95th, gate a quarter of the way up (never
    /// below `absoluteSilence` dBFS, so a silent clip stays silent).
    public func speechLevels(absoluteSilence: Double = -55) -> SpeechLevels {
        let levels = frames.map(\.loudness).sorted()
        guard !levels.isEmpty else { return SpeechLevels(floor: -100, peak: -100, gate: absoluteSilence) }
        let floor = max(levels[levels.count / 10], -90)
        let peak = levels[min(levels.count - 1, levels.count * 95 / 100)]
        let gate = max(floor + 0.25 * max(peak - floor, 12), absoluteSilence)
        return SpeechLevels(floor: floor, peak: peak, gate: gate)
    }
}
