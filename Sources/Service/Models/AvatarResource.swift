import Foundation
import Hummingbird
import Pipeline
import Store

/// What an avatar's analysis found, as stored with it (JSON, sorted keys) and shown in
/// `/v1/avatars`: a portrait's face, or a video's frames and loop.
enum AvatarAnalysis: Codable, Equatable, Sendable {
    case portrait(PortraitFacts)
    case video(VideoFacts)

    /// A portrait's face: the image, the faces found, the one that talks, its pose and warnings.
    struct PortraitFacts: Codable, Equatable, Sendable {
        struct Box: Codable, Equatable, Sendable {
            var x: Double
            var y: Double
            var width: Double
            var height: Double
        }
        struct Pose: Codable, Equatable, Sendable {
            var yawDegrees: Double
            var rollDegrees: Double

            enum CodingKeys: String, CodingKey {
                case yawDegrees = "yaw_degrees"
                case rollDegrees = "roll_degrees"
            }
        }
        var imageWidth: Int
        var imageHeight: Int
        /// How many faces the picture has.
        var faces: Int
        var faceIndex: Int
        var faceBox: Box
        var pose: Pose
        var warnings: [WarningBody]

        enum CodingKeys: String, CodingKey {
            case faces, pose, warnings
            case imageWidth = "image_width"
            case imageHeight = "image_height"
            case faceIndex = "face_index"
            case faceBox = "face_box"
        }

        init(_ inspection: PortraitInspection) {
            let a = inspection.analysis
            let box = a.face.box
            imageWidth = a.imageWidth
            imageHeight = a.imageHeight
            faces = a.faces.count
            faceIndex = a.chosenIndex
            faceBox = Box(
                x: box.x.rounded(), y: box.y.rounded(), width: box.width.rounded(), height: box.height.rounded())
            // HeadPose is in degrees already; one decimal.
            pose = Pose(yawDegrees: (a.pose.yaw * 10).rounded() / 10, rollDegrees: (a.pose.roll * 10).rounded() / 10)
            warnings = inspection.warnings.map { WarningBody(code: $0.rawValue, message: $0.message) }
        }
    }

    /// A video avatar: its size, rate, frames, the frames a clone turns around at, and the face
    /// track kept so that clones do not track the clip again (never shown to clients).
    struct VideoFacts: Codable, Equatable, Sendable {
        struct Loop: Codable, Equatable, Sendable {
            var firstFrame: Int
            var lastFrame: Int

            enum CodingKeys: String, CodingKey {
                case firstFrame = "first_frame"
                case lastFrame = "last_frame"
            }
        }
        var kind = "video"
        var width: Int
        var height: Int
        var fps: Double
        var frames: Int
        var duration: Double
        var framesWithFace: Int
        var loop: Loop
        var warnings: [WarningBody] = []
        var trackBlob: String?

        enum CodingKeys: String, CodingKey {
            case kind, width, height, fps, frames, duration, loop, warnings
            case framesWithFace = "frames_with_face"
            case trackBlob = "track_blob"
        }

        init(_ inspection: VideoInspection, trackBlob: String) {
            let info = inspection.info
            width = info.width
            height = info.height
            fps = info.frameRate.perSecond
            frames = inspection.frames
            duration = info.duration
            framesWithFace = inspection.usableFrames
            loop = Loop(firstFrame: inspection.turningPoints.first, lastFrame: inspection.turningPoints.last)
            self.trackBlob = trackBlob
        }
    }

    /// `{code, message}`.
    struct WarningBody: Codable, Equatable, Sendable {
        var code: String
        var message: String
    }

    private enum Kind: String, CodingKey { case kind }

    init(from decoder: any Decoder) throws {
        let kind = try decoder.container(keyedBy: Kind.self).decodeIfPresent(String.self, forKey: .kind)
        self = kind == "video" ? .video(try VideoFacts(from: decoder)) : .portrait(try PortraitFacts(from: decoder))
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .portrait(let facts): try facts.encode(to: encoder)
        case .video(let facts): try facts.encode(to: encoder)
        }
    }

    /// The analysis an avatar stored (nil for one this version cannot read).
    static func of(_ avatar: Avatar) -> AvatarAnalysis? { try? APIJSON.decode(AvatarAnalysis.self, avatar.analysis) }

    var isVideo: Bool { if case .video = self { true } else { false } }

    /// A video avatar's face-track blob.
    var trackBlob: String? { if case .video(let facts) = self { facts.trackBlob } else { nil } }

    /// The analysis as clients see it (without the blobs it refers to).
    var shown: AvatarAnalysis {
        guard case .video(var facts) = self else { return self }
        facts.trackBlob = nil
        return .video(facts)
    }
}

/// An avatar as `/v1/avatars` shows it: its analysis, flat, with its id and links.
struct AvatarResource: ResponseEncodable, Sendable {
    var id: String
    var createdAt: String
    var analysis: AvatarAnalysis?
    /// Shown as `null` for an avatar made without one.
    var consent: Consent?

    enum CodingKeys: String, CodingKey {
        case id, object, consent
        case createdAt = "created_at"
        case previewURL = "preview_url"
    }

    init(_ avatar: Avatar) {
        id = avatar.id
        createdAt = iso(avatar.createdAt)
        analysis = AvatarAnalysis.of(avatar)?.shown
        consent = Consent.of(avatar)
    }

    func encode(to encoder: any Encoder) throws {
        try analysis?.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode("avatar", forKey: .object)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode("/v1/avatars/\(id)/preview", forKey: .previewURL)
        try c.encode(consent, forKey: .consent)
    }
}
