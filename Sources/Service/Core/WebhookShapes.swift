import Foundation
import Store

/// A webhook message for a finished job, in the shape of one API face.
protocol WebhookShape: Sendable {
    /// The event name (`video.completed`, `video.failed`) and the body (JSON); `face` is the
    /// one the job's spec names.
    func message(for job: VideoJob, face: APIFace?, base: String) throws -> (event: String, payload: String)
}

/// Our own: `{type, timestamp, data}` with the video as `GET /v1/videos/{id}` shows it.
struct NativeWebhook: WebhookShape {
    func message(for job: VideoJob, face: APIFace?, base: String) throws -> (event: String, payload: String) {
        let event = "video.\(job.status.rawValue)"
        let message = VideoEvent(
            type: event, timestamp: iso(job.finishedAt ?? Date()),
            data: VideoResource(job, queuePosition: nil, baseURL: base))
        return (event, try APIJSON.string(message))
    }
}

/// fal's `fal_webhook` body, with a signed link to the file.
struct FalWebhook: WebhookShape {
    let links: FileLinks

    func message(for job: VideoJob, face: APIFace?, base: String) throws -> (event: String, payload: String) {
        ("video.\(job.status.rawValue)", try APIJSON.string(Fal.WebhookMessage(job, base: base, links: links)))
    }
}

/// Sync.so's: the generation object.
struct SyncWebhook: WebhookShape {
    let links: FileLinks

    func message(for job: VideoJob, face: APIFace?, base: String) throws -> (event: String, payload: String) {
        (
            "video.\(job.status.rawValue)",
            try APIJSON.string(SyncSo.Generation(job, face: face, base: base, links: links))
        )
    }
}

/// Picks a job's webhook shape by the API face that submitted it (kept in its spec).
struct WebhookShapes: Sendable {
    /// The public URL (without a trailing slash), or "" to use where the client reached us.
    let publicURL: String
    /// Signed file links, for the faces whose messages carry the file's URL; without them those
    /// faces' jobs get our own shape.
    let links: FileLinks?

    func shape(for face: APIFace.Name?) -> any WebhookShape {
        switch (face, links) {
        case (.fal?, let links?): FalWebhook(links: links)
        case (.sync?, let links?): SyncWebhook(links: links)
        default: NativeWebhook()
        }
    }

    /// The message for a finished job, if it asked for one.
    @Sendable func message(for job: VideoJob) throws -> (event: String, payload: String) {
        let face = (try? JobSpec.decode(job.options))?.face
        // Our own messages keep relative links when no public URL is set, as our answers do; the
        // other faces hand out absolute ones, from where their client reached us.
        let base = publicURL.isEmpty && face != nil && links != nil ? face?.base ?? "" : publicURL
        return try shape(for: face?.name).message(for: job, face: face, base: base)
    }
}
