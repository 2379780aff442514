import Media
import MouthpieceCore
import Render

/// What a user can choose about a render; every field has the product's default.
public struct RenderOptions: Sendable {
    public static let allowedFPS = [24, 25, 30, 48, 50, 60]

    public var resolution: Resolution = .p720
    public var fps: Int = 30
    public var aspect: Aspect = .original
    public var seed: UInt64 = 0
    /// Mouth amplitude, 0 (still) to 2; 1 is natural.
    public var expressiveness: Double = 1
    /// Head motion amplitude, 0 (perfectly still) to 2; 1 is natural.
    public var headMotion: Double = 1
    /// Which face to animate (strongest first); nil picks the largest.
    public var faceIndex: Int? = nil
    public var encoderPreset: String = "veryfast"
    /// Encoder threads; 0: one a core (at most 8). A service running several
    /// renders at once bounds it, so renders do not crowd each other and the API off the cores.
    public var encoderThreads = 0
    /// Threads each frame is rendered on (bands of rows at once, beside the encoder); 0 uses two
    /// where the machine has two cores or more. A service running several renders at once sets 1.
    public var renderThreads = 0
    public var crf: Int = 20
    public var imageLimits = ImageDecoder.Limits()
    public var maxAudioSeconds: Double = 30 * 60
    /// How far the lips lead the sound, in seconds (0.04 to 0.1).
    public var lipLead: Double = 0.06
    /// Where to write a PNG grid of frames from across the clip (nil: none).
    public var contactSheetPath: String? = nil
    /// For a script: write `.srt` and `.vtt` captions beside the video.
    public var captionFiles = true
    /// For a script: draw the captions into the frames.
    public var burnCaptions = false
    /// A visible mark in a corner clear of the face (a plan's, for example); nil for none.
    public var watermark: Watermark? = nil

    public init() {}

    /// Builds options from the strings a user typed, with `invalid_parameter` errors that name the
    /// field and the allowed values.
    public static func parse(
        resolution: String?, fps: Int?, aspect: String?, seed: UInt64?, expressiveness: Double?, faceIndex: Int?,
        headMotion: Double? = nil, lipLeadMilliseconds: Double? = nil
    ) throws -> RenderOptions {
        var options = RenderOptions()
        if let resolution {
            guard let value = Resolution(rawValue: resolution.lowercased()) else {
                throw MouthpieceError(
                    .invalidParameter,
                    "resolution must be one of \(Resolution.allCases.map(\.rawValue).joined(separator: ", ")); "
                        + "got \(resolution).", field: "resolution")
            }
            options.resolution = value
        }
        if let fps {
            guard allowedFPS.contains(fps) else {
                throw MouthpieceError(
                    .invalidParameter,
                    "fps must be one of \(allowedFPS.map(String.init).joined(separator: ", ")); got \(fps).",
                    field: "fps")
            }
            options.fps = fps
        }
        if let aspect {
            guard let value = Aspect(rawValue: aspect.lowercased()) else {
                throw MouthpieceError(
                    .invalidParameter,
                    "aspect must be one of \(Aspect.allCases.map(\.rawValue).joined(separator: ", ")); got \(aspect).",
                    field: "aspect")
            }
            options.aspect = value
        }
        if let seed { options.seed = seed }
        if let expressiveness {
            guard expressiveness.isFinite, (0...2).contains(expressiveness) else {
                throw MouthpieceError(
                    .invalidParameter, "expressiveness must be between 0 and 2; got \(expressiveness).",
                    field: "expressiveness")
            }
            options.expressiveness = expressiveness
        }
        if let headMotion {
            guard headMotion.isFinite, (0...2).contains(headMotion) else {
                throw MouthpieceError(
                    .invalidParameter, "head_motion must be between 0 and 2; got \(headMotion).", field: "head_motion")
            }
            options.headMotion = headMotion
        }
        if let lipLeadMilliseconds {
            guard lipLeadMilliseconds.isFinite, (40...100).contains(lipLeadMilliseconds) else {
                throw MouthpieceError(
                    .invalidParameter, "lip_lead_ms must be between 40 and 100; got \(lipLeadMilliseconds).",
                    field: "lip_lead_ms")
            }
            options.lipLead = lipLeadMilliseconds / 1000
        }
        if let faceIndex {
            guard faceIndex >= 0 else {
                throw MouthpieceError(.invalidParameter, "face_index must be 0 or more.", field: "face_index")
            }
            options.faceIndex = faceIndex
        }
        return options
    }
}
