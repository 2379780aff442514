import Foundation
import Hummingbird
import MouthpieceCore
import Store

/// A Sync.so-shaped endpoint on the same jobs, so that their SDKs' calls work against us:
/// `POST /v2/generate` (`model`, `input: [{type: video, url}, {type: audio, url} | {type: text}]`,
/// `options.sync_mode`, `webhookUrl`), `GET /v2/generate/{id}`, `GET /v2/generations`. Statuses
/// are theirs (`PENDING`, `PROCESSING`, `COMPLETED`, `FAILED`, `CANCELED`); `outputUrl` is a signed
/// link. A `webhookUrl` gets the generation object when the job ends (signed as our webhooks are).
struct SyncRoutes {
    let videos: VideoRoutes
    let links: FileLinks

    struct Generate: Decodable {
        struct Item: Codable {
            struct Provider: Codable {
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
        struct Options: Codable {
            var sync_mode: String?
            var output_format: String?
        }
        var model: String?
        var input: [Item]?
        var options: Options?
        var webhookUrl: String?
    }

    func add(to router: Router<APIContext>, auth: AuthMiddleware) {
        let group = router.group("v2").add(middleware: ErrorMiddleware(shape: Self.errorShape)).add(middleware: auth)
        group.post("generate") { request, context in try await create(request, context) }
        group.get("generate/:id") { request, context in
            JSONResponse.make(Self.generation(try await videos.job(context), base: videos.base(request), links: links))
        }
        group.get("generations") { request, context in
            let key = try context.requireKey()
            let page = try await videos.store.videos(keyID: key.id, after: nil, limit: 100)
            let ours = page.filter { Self.protocolFields($0)?["name"] == "sync" }
            let array = ours.map { Self.generation($0, base: videos.base(request), links: links) }
            let data = try JSONSerialization.data(withJSONObject: array, options: [.withoutEscapingSlashes])
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: Array(data))))
        }
    }

    func create(_ request: Request, _ context: APIContext) async throws -> Response {
        let key = try context.requireKey()
        let generate = try await request.decode(as: Generate.self, context: context)
        let items = generate.input ?? []
        let videoItems = items.filter { $0.type == "video" }
        let soundItems = items.filter { $0.type == "audio" || $0.type == "text" }
        guard videoItems.count == 1, let videoURL = videoItems[0].url else {
            throw MouthpieceError(.invalidParameter, "input needs one {type: video, url} item.", field: "input")
        }
        guard soundItems.count == 1 else {
            throw MouthpieceError(
                .invalidParameter,
                "input needs one {type: audio, url} or {type: text} item (segments are not supported).",
                field: "input")
        }
        if let format = generate.options?.output_format, format.lowercased() != "mp4" {
            throw MouthpieceError(.invalidParameter, "output_format must be mp4.", field: "options.output_format")
        }
        var body = VideoRoutes.Submission()
        body.video_url = videoURL
        body.sync_mode = generate.options?.sync_mode
        let sound = soundItems[0]
        if sound.type == "audio" {
            guard let url = sound.url else {
                throw MouthpieceError(.invalidParameter, "The audio input needs a url.", field: "input")
            }
            body.audio_url = url
        } else {
            var script = VideoRoutes.ScriptBody()
            script.text = sound.provider?.script ?? sound.script ?? sound.text
            script.language = sound.provider?.language ?? sound.language
            body.script = script
        }
        body.webhook_url = generate.webhookUrl
        let echo: [String: String] = [
            "name": "sync", "base": videos.base(request), "model": generate.model ?? "lipsync-2",
            "input": String(decoding: try JSONEncoder().encode(items), as: UTF8.self),
            "options": String(decoding: try JSONEncoder().encode(generate.options ?? .init()), as: UTF8.self),
            "webhookUrl": generate.webhookUrl ?? "",
        ]
        let (job, _) = try await videos.create(
            body, key: key, idempotencyKey: request.headers[.init("Idempotency-Key")!], context: context, extra: echo)
        return JSONResponse.make(Self.generation(job, base: videos.base(request), links: links), status: .created)
    }

    static func protocolFields(_ job: VideoJob) -> [String: String]? {
        let stored = (try? JSONSerialization.jsonObject(with: Data(job.options.utf8))) as? [String: Any]
        return stored?["protocol"] as? [String: String]
    }

    /// Their generation object for one of our jobs.
    static func generation(_ job: VideoJob, base: String, links: FileLinks) -> [String: Any] {
        let fields = protocolFields(job) ?? [:]
        func decoded(_ name: String) -> Any {
            guard let text = fields[name], let value = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else {
                return NSNull()
            }
            return value
        }
        let status =
            switch job.status {
            case .queued: "PENDING"
            case .processing: "PROCESSING"
            case .completed: "COMPLETED"
            case .failed: "FAILED"
            case .canceled: "CANCELED"
            }
        var out: [String: Any] = [
            "id": job.id, "createdAt": VideoJSON.iso(job.createdAt), "status": status,
            "model": fields["model"] ?? "lipsync-2", "input": decoded("input"), "options": decoded("options"),
            "outputUrl": NSNull(), "outputDuration": NSNull(), "error": NSNull(), "error_code": NSNull(),
            "webhookUrl": (fields["webhookUrl"] ?? "").isEmpty ? NSNull() : fields["webhookUrl"]!,
        ]
        if job.status == .completed {
            out["outputUrl"] = base + links.path(job.id)
            out["outputDuration"] = VideoJSON.facts(job)["duration"] ?? 0
        }
        if job.status == .failed || job.status == .canceled {
            out["error"] = job.errorMessage ?? "Canceled."
            out["error_code"] = job.errorCode ?? "canceled"
        }
        return out
    }

    /// The webhook body: the generation object.
    static func webhook(_ job: VideoJob, base: String, links: FileLinks) throws -> (event: String, payload: String) {
        let data = try JSONSerialization.data(
            withJSONObject: generation(job, base: base, links: links), options: [.sortedKeys, .withoutEscapingSlashes])
        return ("video.\(job.status.rawValue)", String(decoding: data, as: UTF8.self))
    }

    /// Errors as their API answers them: `{statusCode, message, error}` (and our stable `code`).
    @Sendable static func errorShape(_ error: MouthpieceError, status: HTTPResponse.Status) -> Response {
        JSONResponse.make(
            [
                "statusCode": Int(status.code), "message": error.message, "error": status.reasonPhrase,
                "code": error.code.rawValue,
            ], status: status)
    }
}
