/// The mouth's pose at one frame, as continuous controls the rig understands.
///
/// New controls (rounding, lip tuck, ...) are added here as the lip-sync grows; zero is rest.
public struct MouthShape: Equatable, Sendable {
    /// Jaw drop, 0 (closed) to 1 (wide open).
    public var jawOpen: Double
    /// Extra parting of the lips beyond what the jaw gives, 0 to 1.
    public var lipGap: Double
    /// Corners apart (+1, "ee") or together (-1, "oo").
    public var spread: Double

    public init(jawOpen: Double = 0, lipGap: Double = 0, spread: Double = 0) {
        self.jawOpen = jawOpen
        self.lipGap = lipGap
        self.spread = spread
    }

    public static let rest = MouthShape()
}

/// The per-frame motion of the face: mouth and eyelids.
public struct FaceMotion: Equatable, Sendable {
    public var mouth: MouthShape
    /// Eyelid closure, 0 (open) to 1 (shut).
    public var blink: Double

    public init(mouth: MouthShape = .rest, blink: Double = 0) {
        self.mouth = mouth
        self.blink = blink
    }
}

/// One `FaceMotion` per output frame.
public struct MotionTrack: Sendable {
    public let fps: Int
    public var frames: [FaceMotion]

    public init(fps: Int, frames: [FaceMotion]) {
        self.fps = fps
        self.frames = frames
    }
}
