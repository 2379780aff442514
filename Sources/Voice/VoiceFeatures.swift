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
    /// Spectral centroid in Hz.
    public var centroid: Double

    public init(loudness: Double, lowBand: Double, midBand: Double, highBand: Double, centroid: Double) {
        self.loudness = loudness
        self.lowBand = lowBand
        self.midBand = midBand
        self.highBand = highBand
        self.centroid = centroid
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
}
