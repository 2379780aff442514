import Foundation
import Hummingbird
import MouthpieceCore
import Store

/// A D-ID `/talks`-shaped endpoint on the same jobs: `POST /talks` with `source_url` and a script
/// (audio by URL, or text spoken by espeak-ng), `GET /talks/{id}` with `created|started|done|error`
/// and `result_url`, `GET /talks`, `DELETE /talks/{id}`. Errors are `{kind, description}`.
struct TalksRoutes {
    let videos: VideoRoutes
    let links: FileLinks

    struct Talk: Decodable {
        struct TalkScript: Decodable {
            struct Provider: Decodable {
                var voice_id: String?
                var language: String?
            }
            var type: String?
            var audio_url: String?
            var input: String?
            var provider: Provider?
        }
        var source_url: String?
        var script: TalkScript?
        var webhook: String?
    }

    func add(to router: Router<APIContext>, auth: AuthMiddleware) {
        let group = router.group("talks").add(middleware: ErrorMiddleware(shape: Self.errorShape)).add(middleware: auth)
        group.post { request, context in try await create(request, context) }
        group.get { request, context in
            let key = try context.requireKey()
            let page = try await videos.store.videos(keyID: key.id, after: nil, limit: 100)
            return JSONResponse.make(["talks": page.map { describe($0, base: videos.base(request)) }])
        }
        group.get(":id") { request, context in
            await JSONResponse.make(describe(try videos.job(context), base: videos.base(request)))
        }
        group.delete(":id") { _, context in
            let job = try await videos.job(context)
            _ = try await videos.store.cancel(job.id, keyID: job.keyID)
            return JSONResponse.make(["deleted": true, "id": job.id])
        }
    }

    func create(_ request: Request, _ context: APIContext) async throws -> Response {
        let key = try context.requireKey()
        let talk = try await request.decode(as: Talk.self, context: context)
        guard let source = talk.source_url else {
            throw MouthpieceError(.invalidParameter, "source_url is required.", field: "source_url")
        }
        if talk.webhook != nil {
            throw MouthpieceError(
                .invalidParameter, "webhook is not delivered on /talks yet: poll GET /talks/{id}, or use /v1 webhooks.",
                field: "webhook")
        }
        var body = VideoRoutes.Submission()
        body.image_url = source
        switch talk.script?.type {
        case "audio":
            body.audio_url = talk.script?.audio_url
        case "text":
            var script = VideoRoutes.ScriptBody()
            script.text = talk.script?.input
            script.language = talk.script?.provider?.language
            body.script = script
        default:
            throw MouthpieceError(
                .invalidParameter, "script.type must be \"audio\" (with audio_url) or \"text\" (with input).",
                field: "script")
        }
        let (job, _) = try await videos.create(body, key: key, idempotencyKey: nil, context: context)
        return JSONResponse.make(
            ["id": job.id, "object": "talk", "created_at": VideoJSON.iso(job.createdAt), "status": "created"],
            status: .created)
    }

    func describe(_ job: VideoJob, base: String) -> [String: Any] {
        let status =
            switch job.status {
            case .queued: "created"
            case .processing: "started"
            case .completed: "done"
            case .failed, .canceled: "error"
            }
        var out: [String: Any] = [
            "id": job.id, "object": "talk", "status": status, "created_at": VideoJSON.iso(job.createdAt),
        ]
        if let started = job.startedAt { out["started_at"] = VideoJSON.iso(started) }
        if job.status == .completed {
            out["result_url"] = base + links.path(job.id)
            out["duration"] = VideoJSON.facts(job)["duration"] ?? 0
        }
        if job.status == .failed || job.status == .canceled {
            out["error"] = ["kind": job.errorCode ?? "canceled", "description": job.errorMessage ?? "Canceled."]
        }
        return out
    }

    /// D-ID's error shape: `{"kind", "description"}` (and our stable `code`).
    @Sendable static func errorShape(_ error: MouthpieceError, status: HTTPResponse.Status) -> Response {
        let kind =
            switch error.code {
            case .unauthorized: "AuthorizationError"
            case .notFound: "NotFoundError"
            case .quotaExceeded: "InsufficientCreditsError"
            case .concurrencyLimit: "TooManyRequestsError"
            default: "ValidationError"
            }
        return JSONResponse.make(
            ["kind": kind, "description": error.message, "code": error.code.rawValue], status: status)
    }

}
