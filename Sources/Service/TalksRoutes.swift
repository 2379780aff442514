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
            return JSONResponse.make(["talks": page.map { Talk.Resource($0, base: videos.base(request), links: links) }]
            )
        }
        group.get(":id") { request, context in
            Talk.Resource(try await videos.job(context), base: videos.base(request), links: links)
        }
        group.delete(":id") { _, context in
            // A video deleted through /v1 is not found here either.
            let job = try await videos.job(context)
            _ = try await videos.videos.cancel(job.id, key: try context.requireKey())
            return JSONResponse.make(Talk.Deleted(id: job.id))
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
        var body = VideoRequest()
        body.image_url = source
        switch talk.script?.type {
        case "audio":
            body.audio_url = talk.script?.audio_url
        case "text":
            var script = VideoRequest.ScriptBody()
            script.text = talk.script?.input
            script.language = talk.script?.provider?.language
            body.script = script
        default:
            throw MouthpieceError(
                .invalidParameter, "script.type must be \"audio\" (with audio_url) or \"text\" (with input).",
                field: "script")
        }
        let (job, _) = try await videos.videos.submit(body, key: key, idempotencyKey: nil, logger: context.logger)
        return JSONResponse.make(Talk.Resource(job, base: videos.base(request), links: links), status: .created)
    }

    /// D-ID's error shape: `{"kind", "description"}` (and our stable `code`).
    @Sendable static func errorShape(_ error: MouthpieceError, status: HTTPResponse.Status) -> Response {
        let kind =
            switch error.code {
            case .unauthorized: "AuthorizationError"
            case .notFound: "NotFoundError"
            case .quotaExceeded: "InsufficientCreditsError"
            case .concurrencyLimit, .queueFull: "TooManyRequestsError"
            default: "ValidationError"
            }
        return JSONResponse.make(
            Talk.Failure(kind: kind, description: error.message, code: error.code.rawValue), status: status)
    }
}

extension TalksRoutes.Talk {
    /// A talk as D-ID shows it: `created`, `started`, `done` (with `result_url`) or `error`.
    struct Resource: ResponseEncodable, Sendable {
        struct Failure: Encodable, Sendable {
            var kind: String
            var description: String
        }
        var id: String
        var object = "talk"
        var status: String
        var createdAt: String
        var startedAt: String?
        var resultURL: String?
        var duration: Double?
        var error: Failure?

        enum CodingKeys: String, CodingKey {
            case id, object, status, duration, error
            case createdAt = "created_at"
            case startedAt = "started_at"
            case resultURL = "result_url"
        }

        init(_ job: VideoJob, base: String, links: FileLinks) {
            id = job.id
            status =
                switch job.status {
                case .queued: "created"
                case .processing: "started"
                case .completed: "done"
                case .failed, .canceled: "error"
                }
            createdAt = iso(job.createdAt)
            startedAt = job.startedAt.map(iso)
            if job.status == .completed {
                resultURL = base + links.path(job.id)
                duration = RenderFacts.of(job)?.duration ?? 0
            }
            if job.status == .failed || job.status == .canceled {
                error = Failure(kind: job.errorCode ?? "canceled", description: job.errorMessage ?? "Canceled.")
            }
        }
    }

    struct Deleted: Encodable, Sendable {
        var deleted = true
        var id: String
    }

    /// D-ID's error shape, with our stable `code`.
    struct Failure: Encodable, Sendable {
        var kind: String
        var description: String
        var code: String
    }

}
