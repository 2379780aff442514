import Foundation

/// `POST /v1/videos`: a portrait (`imageURL` or `avatarID`) and a voice (`audioURL` or `script`).
public struct VideoRequest: Encodable, Sendable {
    public struct Script: Encodable, Sendable {
        public var text: String
        public var language: String
        public var voice: String?
        public var rate: Int?
        public var pitch: Int?

        public init(text: String, language: String = "en-us", voice: String? = nil, rate: Int? = nil, pitch: Int? = nil)
        {
            self.text = text
            self.language = language
            self.voice = voice
            self.rate = rate
            self.pitch = pitch
        }
    }

    public var imageURL: String?
    public var avatarID: String?
    public var audioURL: String?
    public var script: Script?
    public var resolution: String?
    public var fps: Int?
    public var aspect: String?
    public var expressiveness: Double?
    public var headMotion: Double?
    public var seed: UInt64?
    public var webhookURL: String?
    public var burnCaptions: Bool?

    public init(
        imageURL: String? = nil, avatarID: String? = nil, audioURL: String? = nil, script: Script? = nil,
        resolution: String? = nil, fps: Int? = nil, aspect: String? = nil, expressiveness: Double? = nil,
        headMotion: Double? = nil, seed: UInt64? = nil, webhookURL: String? = nil, burnCaptions: Bool? = nil
    ) {
        self.imageURL = imageURL
        self.avatarID = avatarID
        self.audioURL = audioURL
        self.script = script
        self.resolution = resolution
        self.fps = fps
        self.aspect = aspect
        self.expressiveness = expressiveness
        self.headMotion = headMotion
        self.seed = seed
        self.webhookURL = webhookURL
        self.burnCaptions = burnCaptions
    }

    /// A file as a `data:` URI, for `imageURL` / `audioURL`.
    public static func dataURI(file path: String, type: String) throws -> String {
        "data:\(type);base64," + (try Data(contentsOf: URL(fileURLWithPath: path))).base64EncodedString()
    }

    enum CodingKeys: String, CodingKey {
        case imageURL = "image_url", avatarID = "avatar_id", audioURL = "audio_url", script, resolution, fps, aspect
        case expressiveness, headMotion = "head_motion", seed, webhookURL = "webhook_url"
        case burnCaptions = "burn_captions"
    }
}

/// A video job as `GET /v1/videos/{id}` shows it.
public struct Video: Decodable, Equatable, Sendable {
    public enum Status: String, Decodable, Sendable {
        case queued, processing, completed, failed, canceled
        public var isFinal: Bool { self == .completed || self == .failed || self == .canceled }
    }

    public struct Failure: Decodable, Equatable, Sendable {
        public let code: String
        public let message: String
    }

    public struct Result: Decodable, Equatable, Sendable {
        public let url: String
        public let duration: Double
        public let width: Int
        public let height: Int
        public let fps: Int
        public let fileSize: Int
        public let captions: [String: String]?

        enum CodingKeys: String, CodingKey {
            case url, duration, width, height, fps, fileSize = "file_size", captions
        }
    }

    public let id: String
    public let status: Status
    public let progress: Double
    public let queuePosition: Int?
    public let attempts: Int
    public let error: Failure?
    public let result: Result?

    enum CodingKeys: String, CodingKey {
        case id, status, progress, queuePosition = "queue_position", attempts, error, result
    }
}

/// `GET /v1/voices`.
public struct Voices: Decodable, Sendable {
    public struct Language: Decodable, Sendable {
        public let code: String
        public let name: String
        public let aliases: [String]
    }
    public let languages: [Language]
    public let variants: [String]
}
