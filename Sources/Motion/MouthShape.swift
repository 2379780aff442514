/// The mouth's pose at one frame, as continuous controls the rig understands; zero is rest
/// (closed, relaxed).
public struct MouthShape: Equatable, Sendable {
    /// Jaw drop, 0 (closed) to 1 (wide open).
    public var jawOpen: Double
    /// Extra parting of the lips beyond what the jaw gives, 0 to 1.
    public var lipGap: Double
    /// Mouth width: corners apart (+1, "ee") or together (-1).
    public var spread: Double
    /// Lips pushed forward and gathered into a round opening ("oo", "w", "sh"), 0 to 1.
    public var rounding: Double
    /// Upper lip lifted off the teeth ("s", "ee", a snarl), 0 to 1.
    public var upperLipRaise: Double
    /// Lower lip drawn up under the upper teeth ("f", "v"), 0 to 1.
    public var lowerLipTuck: Double

    public init(
        jawOpen: Double = 0, lipGap: Double = 0, spread: Double = 0, rounding: Double = 0, upperLipRaise: Double = 0,
        lowerLipTuck: Double = 0
    ) {
        self.jawOpen = jawOpen
        self.lipGap = lipGap
        self.spread = spread
        self.rounding = rounding
        self.upperLipRaise = upperLipRaise
        self.lowerLipTuck = lowerLipTuck
    }

    public static let rest = MouthShape()
    /// Jaw and lips as open as the controls go (1), nothing else.
    public static let widest = MouthShape(jawOpen: 1, lipGap: 1)
}

/// Small rotations of the head, in radians, and how far the brows are raised (0...1).
public struct HeadMotion: Equatable, Sendable {
    /// Turn towards the picture's right.
    public var yaw: Double
    /// Nod: positive tips the face down.
    public var pitch: Double
    /// Tilt: positive is clockwise in the picture.
    public var roll: Double
    public var browLift: Double

    public init(yaw: Double = 0, pitch: Double = 0, roll: Double = 0, browLift: Double = 0) {
        self.yaw = yaw
        self.pitch = pitch
        self.roll = roll
        self.browLift = browLift
    }

    public static let still = HeadMotion()
}

/// The per-frame motion of the face: mouth, eyelids and head.
public struct FaceMotion: Equatable, Sendable {
    public var mouth: MouthShape
    /// Eyelid closure, 0 (open) to 1 (shut).
    public var blink: Double
    public var head: HeadMotion

    public init(mouth: MouthShape = .rest, blink: Double = 0, head: HeadMotion = .still) {
        self.mouth = mouth
        self.blink = blink
        self.head = head
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
