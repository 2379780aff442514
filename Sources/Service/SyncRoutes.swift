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

    func add(to router: Router<APIContext>, auth: AuthMiddleware) {
        let group = router.group("v2").add(middleware: ErrorMiddleware(shape: Self.errorShape)).add(middleware: auth)
        group.post("generate") { request, context in try await create(request, context) }
        group.get("generate/:id") { request, context in
            generation(try await videos.job(context), base: videos.base(request))
        }
        group.get("generations") { request, context in
            let key = try context.requireKey()
            let page = try await videos.store.videos(keyID: key.id, after: nil, limit: 100)
            let ours = page.compactMap { job -> SyncSo.Generation? in
                guard let face = try? JobSpec.decode(job.options).face, face.name == .sync else { return nil }
                return SyncSo.Generation(job, face: face, base: videos.base(request), links: links)
            }
            return JSONResponse.make(ours)
        }
    }

    func create(_ request: Request, _ context: APIContext) async throws -> Response {
        let key = try context.requireKey()
        let generate = try await request.decode(as: SyncSo.Generate.self, context: context)
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
        var body = VideoRequest()
        body.video_url = videoURL
        body.sync_mode = generate.options?.sync_mode
        let sound = soundItems[0]
        if sound.type == "audio" {
            guard let url = sound.url else {
                throw MouthpieceError(.invalidParameter, "The audio input needs a url.", field: "input")
            }
            body.audio_url = url
        } else {
            var script = VideoRequest.ScriptBody()
            script.text = sound.provider?.script ?? sound.script ?? sound.text
            script.language = sound.provider?.language ?? sound.language
            body.script = script
        }
        body.webhook_url = generate.webhookUrl
        let face = APIFace(
            name: .sync, base: videos.base(request), model: generate.model ?? "lipsync-2",
            input: try APIJSON.string(items), options: try APIJSON.string(generate.options ?? .init()),
            webhookUrl: generate.webhookUrl ?? "")
        let (job, _) = try await videos.videos.submit(
            body, key: key, idempotencyKey: request.headers[.init("Idempotency-Key")!], face: face,
            logger: context.logger)
        return JSONResponse.make(generation(job, base: videos.base(request)), status: .created)
    }

    /// Their generation object for one of our jobs.
    func generation(_ job: VideoJob, base: String) -> SyncSo.Generation {
        SyncSo.Generation(job, face: try? JobSpec.decode(job.options).face, base: base, links: links)
    }

    /// Errors as their API answers them: `{statusCode, message, error}` (and our stable `code`).
    @Sendable static func errorShape(_ error: MouthpieceError, status: HTTPResponse.Status) -> Response {
        JSONResponse.make(
            SyncSo.Failure(
                statusCode: Int(status.code), message: error.message, error: status.reasonPhrase,
                code: error.code.rawValue), status: status)
    }
}
