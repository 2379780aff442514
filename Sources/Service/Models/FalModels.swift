import Foundation
import Hummingbird
import Store

/// The fal queue protocol's answers, as `fal_client` reads them.
enum Fal {
    /// `request_id` and the three URLs the client follows.
    struct Links: Encodable, Sendable {
        var requestID: String
        var responseURL: String
        var statusURL: String
        var cancelURL: String

        enum CodingKeys: String, CodingKey {
            case requestID = "request_id"
            case responseURL = "response_url"
            case statusURL = "status_url"
            case cancelURL = "cancel_url"
        }

        init(_ id: String, base: String) {
            requestID = id
            responseURL = "\(base)/\(Fal.application)/requests/\(id)"
            statusURL = responseURL + "/status"
            cancelURL = responseURL + "/cancel"
        }
    }

    static let application = "fal-ai/kling-video"

    /// One line of a request's log.
    struct LogLine: Encodable, Sendable {
        var message: String
        var level: String
        var source = "user"
        var timestamp: String
    }

    /// A request's status: `IN_QUEUE` (with its place), `IN_PROGRESS` or `COMPLETED` (with its
    /// logs, `null` unless asked for, and its metrics or error).
    struct Status: ResponseEncodable, Sendable {
        struct Metrics: Encodable, Sendable {
            var inferenceTime: Double
            enum CodingKeys: String, CodingKey { case inferenceTime = "inference_time" }
        }
        var links: Links
        var status: String
        var queuePosition: Int?
        /// Absent while queued; `null` when not asked for.
        var logs: [LogLine]??
        var metrics: Metrics?
        var error: String?
        var errorType: String?

        enum CodingKeys: String, CodingKey {
            case status, logs, metrics, error
            case queuePosition = "queue_position"
            case errorType = "error_type"
        }

        func encode(to encoder: any Encoder) throws {
            try links.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(status, forKey: .status)
            try c.encodeIfPresent(queuePosition, forKey: .queuePosition)
            if let logs { try c.encode(logs, forKey: .logs) }
            try c.encodeIfPresent(metrics, forKey: .metrics)
            try c.encodeIfPresent(error, forKey: .error)
            try c.encodeIfPresent(errorType, forKey: .errorType)
        }

        init(_ job: VideoJob, queuePosition: Int?, base: String, logs: Bool) {
            links = Links(job.id, base: base)
            let lines = [
                LogLine(
                    message: job.status == .processing
                        ? "Rendering: \(Int((job.progress * 100).rounded())) %" : "Video \(job.status.rawValue).",
                    level: job.status == .failed ? "ERROR" : "INFO", timestamp: iso(Date()))
            ]
            switch job.status {
            case .queued:
                status = "IN_QUEUE"
                self.queuePosition = queuePosition
            case .processing:
                status = "IN_PROGRESS"
                self.logs = .some(logs ? lines : nil)
            case .completed, .failed, .canceled:
                status = "COMPLETED"
                self.logs = .some(logs ? lines : nil)
                if let started = job.startedAt, let finished = job.finishedAt {
                    metrics = Metrics(inferenceTime: finished.timeIntervalSince(started))
                }
                if job.status != .completed {
                    error = job.errorMessage ?? "Canceled."
                    errorType = job.errorCode ?? job.status.rawValue
                }
            }
        }
    }

    /// The answer to a submission: the links, `IN_QUEUE` and the place in the queue.
    struct Queued: Encodable, Sendable {
        var links: Links
        var queuePosition: Int

        enum CodingKeys: String, CodingKey {
            case status
            case queuePosition = "queue_position"
        }

        func encode(to encoder: any Encoder) throws {
            try links.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode("IN_QUEUE", forKey: .status)
            try c.encode(queuePosition, forKey: .queuePosition)
        }
    }

    /// A completed request's output: the video file and its duration.
    struct Output: Encodable, Sendable {
        struct File: Encodable, Sendable {
            var url: String
            var contentType = "video/mp4"
            var fileName: String
            var fileSize: Int

            enum CodingKeys: String, CodingKey {
                case url
                case contentType = "content_type"
                case fileName = "file_name"
                case fileSize = "file_size"
            }
        }
        var video: File
        var duration: Double

        init(_ job: VideoJob, base: String, links: FileLinks) {
            let facts = RenderFacts.of(job)
            video = File(url: base + links.path(job.id), fileName: "\(job.id).mp4", fileSize: facts?.fileSize ?? 0)
            duration = facts?.duration ?? 0
        }
    }

    /// `{detail, error_type}`: a failure, or an error that is not a validation error.
    struct Failure: Encodable, Sendable {
        var detail: String
        var errorType: String?

        enum CodingKeys: String, CodingKey {
            case detail
            case errorType = "error_type"
        }
    }

    /// `{"detail": [{"loc": ["body", field], "msg", "type"}]}`: a validation error.
    struct ValidationFailure: Encodable, Sendable {
        struct Item: Encodable, Sendable {
            var loc: [String]
            var msg: String
            var type: String
        }
        var detail: [Item]
    }

    /// The body of a `fal_webhook`: `{request_id, gateway_request_id, status: "OK", payload}` or
    /// `{..., status: "ERROR", error, payload: {detail, error_type}}`.
    struct WebhookMessage: Encodable, Sendable {
        enum Payload: Encodable, Sendable {
            case output(Output)
            case failure(Failure)

            func encode(to encoder: any Encoder) throws {
                switch self {
                case .output(let output): try output.encode(to: encoder)
                case .failure(let failure): try failure.encode(to: encoder)
                }
            }
        }
        var requestID: String
        var status: String
        var error: String?
        var payload: Payload

        enum CodingKeys: String, CodingKey {
            case status, error, payload
            case requestID = "request_id"
            case gatewayRequestID = "gateway_request_id"
        }

        init(_ job: VideoJob, base: String, links: FileLinks) {
            requestID = job.id
            if job.status == .completed {
                status = "OK"
                payload = .output(Output(job, base: base, links: links))
            } else {
                status = "ERROR"
                error = job.errorMessage ?? "The request failed."
                payload = .failure(Failure(detail: job.errorMessage ?? "", errorType: job.errorCode ?? "failed"))
            }
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(requestID, forKey: .requestID)
            try c.encode(requestID, forKey: .gatewayRequestID)
            try c.encode(status, forKey: .status)
            try c.encodeIfPresent(error, forKey: .error)
            try c.encode(payload, forKey: .payload)
        }
    }
}
