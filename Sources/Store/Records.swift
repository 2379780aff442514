import Foundation

/// An API key as stored: only the SHA-256 of the secret is kept.
public struct APIKey: Equatable, Sendable {
    public let id: String
    public let name: String
    /// Standard Webhooks signing secret (`whsec_` + base64), given to the key's owner once.
    public let webhookSecret: String
    /// Output seconds this key may render in all; nil: no limit.
    public let quotaSeconds: Double?
    /// Videos this key may have rendering at once.
    public let concurrency: Int
    public let createdAt: Date
    /// The operator's plan the key is on (credits, limits, watermark, priority); nil for none.
    public var plan: String? = nil
}

/// Where a video job stands.
public enum VideoStatus: String, Codable, Sendable, CaseIterable {
    case queued, processing, completed, failed, canceled

    public var isFinal: Bool { self == .completed || self == .failed || self == .canceled }
}

/// A render job and what became of it.
public struct VideoJob: Equatable, Sendable {
    public let id: String
    public let keyID: String
    public var status: VideoStatus
    /// The render options as the client sent them (JSON object, validated at submission).
    public let options: String
    /// Blob ids of the inputs.
    public let imageBlob: String
    public let audioBlob: String
    public let webhookURL: String?
    public let createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var progress: Double
    public var attempts: Int
    public var errorCode: String?
    public var errorMessage: String?
    /// The finished output: blob id and facts (JSON object).
    public var resultBlob: String?
    public var result: String?
    public var cancelRequested: Bool
    /// Higher goes first (a plan's priority); among equals, keys take turns, oldest job first.
    public var priority = 0

    /// A new job, queued now.
    public static func queued(
        id: String, keyID: String, options: String, imageBlob: String, audioBlob: String, webhookURL: String?,
        createdAt: Date = Date(), priority: Int = 0
    ) -> VideoJob {
        VideoJob(
            id: id, keyID: keyID, status: .queued, options: options, imageBlob: imageBlob, audioBlob: audioBlob,
            webhookURL: webhookURL, createdAt: createdAt, startedAt: nil, finishedAt: nil, progress: 0, attempts: 0,
            errorCode: nil, errorMessage: nil, resultBlob: nil, result: nil, cancelRequested: false,
            priority: priority)
    }
}

/// One pronunciation: a word as it is written and what to say for it.
public struct LexiconEntry: Codable, Equatable, Sendable {
    public var word: String
    public var respelling: String

    public init(word: String, respelling: String) {
        self.word = word
        self.respelling = respelling
    }

    /// The word as entries are told apart and matched: case folded.
    public var folded: String { Self.fold(word) }
    public static func fold(_ word: String) -> String { word.lowercased() }
}

/// A portrait uploaded once and analysed once, for any number of videos.
public struct Avatar: Equatable, Sendable {
    public let id: String
    public let keyID: String
    public let imageBlob: String
    public let previewBlob: String
    /// The face analysis (JSON object: face box, pose, warnings, image size).
    public let analysis: String
    public let createdAt: Date
    /// The consent attestation for the person shown (JSON object), nil for an avatar made
    /// without one (before consent was asked for, or on an install that does not ask).
    public let consent: String?

    public init(
        id: String, keyID: String, imageBlob: String, previewBlob: String, analysis: String, createdAt: Date,
        consent: String? = nil
    ) {
        self.id = id
        self.keyID = keyID
        self.imageBlob = imageBlob
        self.previewBlob = previewBlob
        self.analysis = analysis
        self.createdAt = createdAt
        self.consent = consent
    }
}

/// One webhook message and where its delivery stands. The id is the message's `webhook-id`: the
/// same on every attempt, so that a receiver can drop duplicates.
public struct WebhookDelivery: Equatable, Sendable {
    public enum Status: String, Sendable {
        /// Not yet accepted by the receiver; `nextAttemptAt` says when it is tried again.
        case pending
        /// The receiver answered 2xx.
        case delivered
        /// Every attempt of the schedule failed.
        case failed
    }

    public let id: String
    public let keyID: String
    public let videoID: String
    /// `video.completed` or `video.failed`.
    public let event: String
    public let url: String
    /// The body sent on every attempt (JSON).
    public let payload: String
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Date?
    public let createdAt: Date
    public var deliveredAt: Date?
}

/// One try at delivering a webhook: what the receiver answered, or why nothing was answered.
public struct WebhookAttempt: Equatable, Sendable {
    public let attempt: Int
    public let at: Date
    public let statusCode: Int?
    public let error: String?
    public let milliseconds: Double

    public init(attempt: Int, at: Date, statusCode: Int?, error: String?, milliseconds: Double) {
        self.attempt = attempt
        self.at = at
        self.statusCode = statusCode
        self.error = error
        self.milliseconds = milliseconds
    }
}
