import Foundation
import Hummingbird
import Store

/// Sync.so's shapes: what `POST /v2/generate` takes and the generation object it answers with.
enum SyncSo {
    /// The body of `POST /v2/generate`.
    struct Generate: Decodable {
        var model: String?
        var input: [Item]?
        var options: Options?
        var webhookUrl: String?
    }

    /// One input: `{type: video, url}`, `{type: audio, url}` or `{type: text, ...}`.
    struct Item: Codable, Sendable {
        struct Provider: Codable, Sendable {
            var name: String?
            var script: String?
            var language: String?
            var voiceId: String?
        }
        var type: String
        var url: String?
        var provider: Provider?
        var script: String?
        var text: String?
        var language: String?
    }

    struct Options: Codable, Sendable {
        var sync_mode: String?
        var output_format: String?
    }

    /// Their generation object for one of our jobs: what the client sent, echoed (kept with the
    /// job's `APIFace`), and where the job stands; absent values are `null`.
    struct Generation: ResponseEncodable, Sendable {
        var id: String
        var createdAt: String
        var status: String
        var model: String
        var input: [Item]?
        var options: Options?
        var outputUrl: String?
        var outputDuration: Double?
        var error: String?
        var errorCode: String?
        var webhookUrl: String?

        enum CodingKeys: String, CodingKey {
            case id, createdAt, status, model, input, options, outputUrl, outputDuration, error, webhookUrl
            case errorCode = "error_code"
        }

        init(_ job: VideoJob, face: APIFace?, base: String, links: FileLinks) {
            id = job.id
            createdAt = iso(job.createdAt)
            status =
                switch job.status {
                case .queued: "PENDING"
                case .processing: "PROCESSING"
                case .completed: "COMPLETED"
                case .failed: "FAILED"
                case .canceled: "CANCELED"
                }
            model = face?.model ?? "lipsync-2"
            input = face?.input.flatMap { try? APIJSON.decode([Item].self, $0) }
            options = face?.options.flatMap { try? APIJSON.decode(Options.self, $0) }
            webhookUrl = face?.webhookUrl.flatMap { $0.isEmpty ? nil : $0 }
            if job.status == .completed {
                outputUrl = base + links.path(job.id)
                outputDuration = RenderFacts.of(job)?.duration ?? 0
            }
            if job.status == .failed || job.status == .canceled {
                error = job.errorMessage ?? "Canceled."
                errorCode = job.errorCode ?? "canceled"
            }
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(createdAt, forKey: .createdAt)
            try c.encode(status, forKey: .status)
            try c.encode(model, forKey: .model)
            try c.encode(input, forKey: .input)
            try c.encode(options, forKey: .options)
            try c.encode(outputUrl, forKey: .outputUrl)
            try c.encode(outputDuration, forKey: .outputDuration)
            try c.encode(error, forKey: .error)
            try c.encode(errorCode, forKey: .errorCode)
            try c.encode(webhookUrl, forKey: .webhookUrl)
        }
    }

    /// Errors as their API answers them: `{statusCode, message, error}` (and our stable `code`).
    struct Failure: Encodable, Sendable {
        var statusCode: Int
        var message: String
        var error: String
        var code: String
    }
}
