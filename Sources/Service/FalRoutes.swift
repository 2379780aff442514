import Foundation
import Hummingbird
import MouthpieceCore
import Store

/// The fal queue protocol, as `fal_client` speaks it, for Kling's avatar and image-to-video
/// models: submit, status (with queue position and logs), status stream, result, cancel. A request
/// is one of our video jobs; `Authorization: Key <key>` is one of our API keys.
struct FalRoutes {
    static let application = Fal.application
    /// Model paths under the application, and the resolution each renders at (a lip-sync keeps
    /// its video's).
    static let models: [(path: String, resolution: String)] = [
        ("v2.6/pro/image-to-video", "1080p"), ("ai-avatar/v2/pro", "1080p"), ("ai-avatar/v2/standard", "720p"),
        (lipSyncModel, ""),
    ]
    /// Kling's lip-sync: `video_url` + `audio_url`.
    static let lipSyncModel = "lipsync/audio-to-video"

    let videos: VideoRoutes
    let links: FileLinks

    /// What fal's Kling endpoints take; what has no meaning here (`prompt`...) is accepted and
    /// ignored, and so is any other field.
    struct Input: Decodable {
        var image_url: String?
        var start_image_url: String?
        var video_url: String?
        var audio_url: String?
        var duration: Loose?
        var aspect_ratio: String?
        var prompt: String?
    }

    /// A value fal's clients send as a string or a number ("10" or 10).
    struct Loose: Decodable {
        let text: String
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self.text = text
            } else {
                self.text = String(try container.decode(Double.self))
            }
        }
    }

    func add(to router: Router<APIContext>, auth: AuthMiddleware) {
        let group = router.group(RouterPath(Self.application)).add(middleware: ErrorMiddleware(shape: Self.errorShape))
            .add(
                middleware: auth)
        for model in Self.models {
            group.post(RouterPath(model.path)) { request, context in
                try await submit(request, context, resolution: model.resolution)
            }
        }
        group.get("requests/:id/status") { request, context in
            let job = try await job(context)
            let logs = ["1", "true"].contains(request.uri.queryParameters.get("logs") ?? "")
            return json(try await status(job, base: videos.base(request), logs: logs), job: job)
        }
        group.get("requests/:id/status/stream") { request, context in
            try await stream(request, context)
        }
        group.get("requests/:id") { request, context in
            try await result(try job(context), base: videos.base(request))
        }
        group.put("requests/:id/cancel") { _, context in
            let key = try context.requireKey()
            let id = try context.parameters.require("id")
            guard let before = try await videos.store.video(id, keyID: key.id) else {
                return JSONResponse.make(["status": "NOT_FOUND"], status: .notFound)
            }
            if before.status.isFinal {
                return JSONResponse.make(["status": "ALREADY_COMPLETED"], status: .badRequest)
            }
            _ = try await videos.videos.cancel(id, key: key)
            return JSONResponse.make(["status": "CANCELLATION_REQUESTED"], status: .accepted)
        }
    }

    func submit(_ request: Request, _ context: APIContext, resolution: String) async throws -> Response {
        let key = try context.requireKey()
        let input = try await request.decode(as: Input.self, context: context)
        let lipSync = resolution.isEmpty
        let image = input.image_url ?? input.start_image_url
        if lipSync && input.video_url == nil {
            throw MouthpieceError(.invalidParameter, "video_url is required.", field: "video_url")
        }
        if !lipSync && image == nil {
            throw MouthpieceError(.invalidParameter, "image_url is required.", field: "image_url")
        }
        guard let audio = input.audio_url else {
            throw MouthpieceError(
                .invalidParameter, "audio_url is required: the avatar says what the audio says.", field: "audio_url")
        }
        let aspect: String? =
            switch input.aspect_ratio {
            case "16:9", "9:16", "1:1": input.aspect_ratio
            default: nil
            }
        var body = VideoRequest()
        if lipSync {
            body.video_url = input.video_url
        } else {
            body.image_url = image
            body.resolution = resolution
            body.aspect = aspect
        }
        body.audio_url = audio
        // fal_webhook: delivered like our own webhooks (outbox, retries, signed per Standard
        // Webhooks), with fal's body {request_id, gateway_request_id, status, payload}.
        body.webhook_url = request.uri.queryParameters.get("fal_webhook").map { String($0) }
        let (job, _) = try await videos.videos.submit(
            body, key: key, idempotencyKey: request.headers[.init("Idempotency-Key")!],
            face: APIFace(name: .fal, base: videos.base(request)), logger: context.logger)
        let queued = Fal.Queued(
            links: Fal.Links(job.id, base: videos.base(request)),
            queuePosition: try await videos.store.queuePosition(of: job))
        return json(queued, job: job)
    }

    func status(_ job: VideoJob, base: String, logs: Bool) async throws -> Fal.Status {
        Fal.Status(job, queuePosition: try await videos.videos.queuePosition(job), base: base, logs: logs)
    }

    /// The result: the video and its facts, or the failure as a non-2xx answer (the only way
    /// `fal_client` sees one). Never 408, 409, 429 or 5xx for a failure: the client would retry.
    func result(_ job: VideoJob, base: String) throws -> Response {
        switch job.status {
        case .completed:
            return json(Fal.Output(job, base: base, links: links), job: job)
        case .failed, .canceled:
            return JSONResponse.make(
                Fal.Failure(
                    detail: job.errorMessage ?? "The request was canceled.", errorType: job.errorCode ?? "canceled"),
                status: .unprocessableContent)
        case .queued, .processing:
            return JSONResponse.make(Fal.Failure(detail: "Request is still in progress"), status: .badRequest)
        }
    }

    /// Server-Sent Events, each the status JSON, until COMPLETED.
    func stream(_ request: Request, _ context: APIContext) async throws -> Response {
        let base = videos.base(request)
        let logs = ["1", "true"].contains(request.uri.queryParameters.get("logs") ?? "")
        return videos.eventStream(try await job(context)) { job in
            (nil, try await status(job, base: base, logs: logs))
        }
    }

    func job(_ context: APIContext) async throws -> VideoJob { try await videos.job(context) }

    /// Errors in the shapes `fal_client` expects: validation as 422
    /// `{"detail": [{"loc": ["body", field], "msg", "type"}]}`, others as `{"detail", "error_type"}`.
    @Sendable static func errorShape(_ error: MouthpieceError, status: HTTPResponse.Status) -> Response {
        if status == .badRequest || error.code == .noFaceDetected {
            let location: [String] = ["body", error.field ?? "body"]
            return JSONResponse.make(
                Fal.ValidationFailure(detail: [.init(loc: location, msg: error.message, type: error.code.rawValue)]),
                status: .unprocessableContent)
        }
        return JSONResponse.make(Fal.Failure(detail: error.message, errorType: error.code.rawValue), status: status)
    }

    func json(_ object: some Encodable, job: VideoJob) -> Response {
        JSONResponse.make(object, headers: [.init("x-fal-request-id")!: job.id])
    }
}
