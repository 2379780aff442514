import Foundation
import Hummingbird
import Pipeline
import Speech
import Store

/// What a finished render made (duration, size, frames...), as stored with the job and shown in
/// the video's `result`.
struct RenderFacts: Codable, Equatable, Sendable {
    var duration: Double
    var width: Int
    var height: Int
    var fps: Int
    var fileSize: Int
    var contentType = "video/mp4"
    var frames: Int
    var warnings: [String]
    /// Only for a video made from a script (its captions).
    var captionCues: Int?
    /// Only for a composition: where each scene starts, in seconds.
    var sceneStarts: [Double]?
    /// Only for a video made from a script: the voice that spoke it ("festival-slt").
    var voice: String?

    enum CodingKeys: String, CodingKey {
        case duration, width, height, fps, frames, warnings, voice
        case fileSize = "file_size"
        case contentType = "content_type"
        case captionCues = "caption_cues"
        case sceneStarts = "scene_starts"
    }

    /// Lenient with what an older version may not have stored: only the duration is required.
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        duration = try c.decode(Double.self, forKey: .duration)
        width = try c.decodeIfPresent(Int.self, forKey: .width) ?? 0
        height = try c.decodeIfPresent(Int.self, forKey: .height) ?? 0
        fps = try c.decodeIfPresent(Int.self, forKey: .fps) ?? 0
        fileSize = try c.decodeIfPresent(Int.self, forKey: .fileSize) ?? 0
        contentType = try c.decodeIfPresent(String.self, forKey: .contentType) ?? "video/mp4"
        frames = try c.decodeIfPresent(Int.self, forKey: .frames) ?? 0
        warnings = try c.decodeIfPresent([String].self, forKey: .warnings) ?? []
        captionCues = try c.decodeIfPresent(Int.self, forKey: .captionCues)
        sceneStarts = try c.decodeIfPresent([Double].self, forKey: .sceneStarts)
        voice = try c.decodeIfPresent(String.self, forKey: .voice)
    }

    init(_ summary: RenderSummary) {
        self.init(
            duration: summary.duration, width: summary.width, height: summary.height, fps: summary.fps,
            fileSize: summary.bytes, frames: summary.frames, warnings: summary.warnings.map(\.rawValue),
            captionCues: summary.captions.isEmpty ? nil : summary.captions.count, voice: summary.voice)
    }

    init(_ summary: CompositionSummary) {
        self.init(
            duration: summary.duration, width: summary.width, height: summary.height, fps: summary.fps,
            fileSize: summary.bytes, frames: summary.frames, warnings: summary.warnings.map(\.rawValue),
            captionCues: summary.captions.isEmpty ? nil : summary.captions.count, sceneStarts: summary.sceneStarts)
    }

    private init(
        duration: Double, width: Int, height: Int, fps: Int, fileSize: Int, frames: Int, warnings: [String],
        captionCues: Int?, sceneStarts: [Double]? = nil, voice: String? = nil
    ) {
        self.voice = voice
        self.duration = duration
        self.width = width
        self.height = height
        self.fps = fps
        self.fileSize = fileSize
        self.frames = frames
        self.warnings = warnings
        self.captionCues = captionCues
        self.sceneStarts = sceneStarts
    }

    /// The facts a finished job stored, if it has any.
    static func of(_ job: VideoJob) -> RenderFacts? {
        job.result.flatMap { try? APIJSON.decode(RenderFacts.self, $0) }
    }
}

/// `{code, message, field?}`: an error as our API shows it.
struct ErrorBody: Codable, Equatable, Sendable {
    var code: String
    var message: String
    var field: String?
}

/// A video as the API shows it: in answers, in `/events` and in webhook messages.
struct VideoResource: ResponseEncodable, Equatable, Sendable {
    /// The render facts, the file's URL and, for a script, its captions' URLs.
    struct Result: Encodable, Equatable, Sendable {
        struct Captions: Encodable, Equatable, Sendable {
            var srt: String
            var vtt: String
        }
        var facts: RenderFacts
        var url: String
        var captions: Captions?

        enum CodingKeys: String, CodingKey { case url, captions }

        func encode(to encoder: any Encoder) throws {
            try facts.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(url, forKey: .url)
            try c.encodeIfPresent(captions, forKey: .captions)
        }
    }

    var id: String
    var object = "video"
    var status: VideoStatus
    var progress: Double
    var createdAt: String
    var attempts: Int
    var options: JobSpec?
    var queuePosition: Int?
    var startedAt: String?
    var finishedAt: String?
    /// A finished job's error.
    var error: ErrorBody?
    /// A job still queued or rendering carries the error of an earlier attempt, if any.
    var lastError: ErrorBody?
    var result: Result?
    var webhookURL: String?

    enum CodingKeys: String, CodingKey {
        case id, object, status, progress, attempts, options, error, result
        case createdAt = "created_at"
        case queuePosition = "queue_position"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case lastError = "last_error"
        case webhookURL = "webhook_url"
    }

    init(_ job: VideoJob, queuePosition: Int?, baseURL: String) {
        id = job.id
        status = job.status
        progress = (job.progress * 1000).rounded() / 1000
        createdAt = iso(job.createdAt)
        attempts = job.attempts
        options = try? JobSpec.decode(job.options)
        self.queuePosition = queuePosition
        startedAt = job.startedAt.map(iso)
        finishedAt = job.finishedAt.map(iso)
        if let code = job.errorCode {
            let body = ErrorBody(code: code, message: job.errorMessage ?? "")
            if job.status.isFinal { error = body } else { lastError = body }
        }
        if let facts = RenderFacts.of(job) {
            let link = baseURL + "/v1/videos/\(job.id)"
            result = Result(
                facts: facts, url: link + "/content",
                captions: facts.captionCues == nil
                    ? nil : .init(srt: link + "/captions.srt", vtt: link + "/captions.vtt"))
        }
        webhookURL = job.webhookURL
    }
}

/// The native webhook message for a finished job: `video.completed` or `video.failed`, with the
/// video as `GET /v1/videos/{id}` shows it.
struct VideoEvent: Encodable, Sendable {
    var type: String
    var timestamp: String
    var data: VideoResource
}

/// `{object: "list", data}`.
struct ListResource<Item: Encodable & Sendable>: ResponseEncodable, Sendable {
    var object = "list"
    var data: [Item]

    init(_ data: [Item]) { self.data = data }
}

/// `{object: "list", data, next_cursor}`: a page, `next_cursor` null on the last.
struct PageResource<Item: Encodable & Sendable>: ResponseEncodable, Sendable {
    var data: [Item]
    var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case object, data
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("list", forKey: .object)
        try c.encode(data, forKey: .data)
        try c.encode(nextCursor, forKey: .nextCursor)
    }
}

/// `GET /v1/usage`.
struct UsageResource: ResponseEncodable, Sendable {
    struct Day: Encodable, Sendable {
        var date: String
        var outputSeconds: Double
        var videos: Int

        enum CodingKeys: String, CodingKey {
            case date, videos
            case outputSeconds = "output_seconds"
        }
    }
    /// This period's credits: `{period_start, period_end, monthly_seconds, used_seconds, left_seconds}`.
    struct CreditsBody: Encodable, Sendable {
        var periodStart: String
        var periodEnd: String
        var monthlySeconds: Double
        var usedSeconds: Double
        var leftSeconds: Double

        enum CodingKeys: String, CodingKey {
            case periodStart = "period_start"
            case periodEnd = "period_end"
            case monthlySeconds = "monthly_seconds"
            case usedSeconds = "used_seconds"
            case leftSeconds = "left_seconds"
        }
    }
    var keyID: String
    var outputSeconds: Double
    /// Shown as `null` for a key without a quota.
    var quotaSeconds: Double?
    var byDay: [Day]
    /// The key's plan and its credits this month (`null` without).
    var plan: String? = nil
    var credits: CreditsBody? = nil

    enum CodingKeys: String, CodingKey {
        case plan, credits
        case keyID = "key_id"
        case outputSeconds = "output_seconds"
        case quotaSeconds = "quota_seconds"
        case byDay = "by_day"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(keyID, forKey: .keyID)
        try c.encode(outputSeconds, forKey: .outputSeconds)
        try c.encode(quotaSeconds, forKey: .quotaSeconds)
        try c.encode(byDay, forKey: .byDay)
        try c.encode(plan, forKey: .plan)
        try c.encode(credits, forKey: .credits)
    }
}

/// `GET /v1/voices`.
struct VoicesResource: ResponseEncodable, Sendable {
    struct Language: Encodable, Sendable {
        var code: String
        var name: String
        var aliases: [String]
    }
    var object = "list"
    var voices: [SpeechVoice]
    var languages: [Language]
    var variants: [String]
}

/// A webhook delivery and its log, as `/v1/webhook-deliveries` shows it.
struct WebhookDeliveryResource: ResponseEncodable, Sendable {
    struct Attempt: Encodable, Sendable {
        var attempt: Int
        var at: String
        var durationMS: Double
        var statusCode: Int?
        var error: String?

        enum CodingKeys: String, CodingKey {
            case attempt, at, error
            case durationMS = "duration_ms"
            case statusCode = "status_code"
        }
    }
    var id: String
    var object = "webhook_delivery"
    var event: String
    var videoID: String
    var url: String
    var status: String
    var attempts: Int
    var createdAt: String
    var log: [Attempt]
    var nextAttemptAt: String?
    var deliveredAt: String?

    enum CodingKeys: String, CodingKey {
        case id, object, event, url, status, attempts, log
        case videoID = "video_id"
        case createdAt = "created_at"
        case nextAttemptAt = "next_attempt_at"
        case deliveredAt = "delivered_at"
    }

    init(_ delivery: WebhookDelivery, _ attempts: [WebhookAttempt]) {
        id = delivery.id
        event = delivery.event
        videoID = delivery.videoID
        url = delivery.url
        status = delivery.status.rawValue
        self.attempts = delivery.attempts
        createdAt = iso(delivery.createdAt)
        log = attempts.map {
            Attempt(
                attempt: $0.attempt, at: iso($0.at), durationMS: ($0.milliseconds * 10).rounded() / 10,
                statusCode: $0.statusCode, error: $0.error)
        }
        if delivery.status == .pending { nextAttemptAt = delivery.nextAttemptAt.map(iso) }
        deliveredAt = delivery.deliveredAt.map(iso)
    }
}

/// Dates as the API writes them (ISO 8601, UTC, whole seconds).
func iso(_ date: Date) -> String { date.formatted(.iso8601) }
