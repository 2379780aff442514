import Foundation
import Store

/// A video as the API shows it: in answers, in `/events` and in webhook messages.
enum VideoJSON {
    static func describe(_ job: VideoJob, queuePosition: Int?, baseURL: String) -> [String: Any] {
        var out: [String: Any] = [
            "id": job.id, "object": "video", "status": job.status.rawValue,
            "progress": (job.progress * 1000).rounded() / 1000, "created_at": iso(job.createdAt),
            "attempts": job.attempts,
        ]
        if let options = try? JSONSerialization.jsonObject(with: Data(job.options.utf8)) { out["options"] = options }
        if let queuePosition { out["queue_position"] = queuePosition }
        if let started = job.startedAt { out["started_at"] = iso(started) }
        if let finished = job.finishedAt { out["finished_at"] = iso(finished) }
        if let code = job.errorCode {
            // A job still queued or rendering carries the error of an earlier attempt, if any.
            out[job.status.isFinal ? "error" : "last_error"] = ["code": code, "message": job.errorMessage ?? ""]
        }
        if job.result != nil {
            var facts = facts(job)
            facts["url"] = baseURL + "/v1/videos/\(job.id)/content"
            if facts["caption_cues"] != nil {
                facts["captions"] = [
                    "srt": baseURL + "/v1/videos/\(job.id)/captions.srt",
                    "vtt": baseURL + "/v1/videos/\(job.id)/captions.vtt",
                ]
            }
            out["result"] = facts
        }
        if let webhook = job.webhookURL { out["webhook_url"] = webhook }
        return out
    }

    /// The webhook message for a finished job: `video.completed` or `video.failed`, with the
    /// video as `GET /v1/videos/{id}` shows it.
    static func webhook(_ job: VideoJob, baseURL: String) throws -> (event: String, payload: String) {
        let event = "video.\(job.status.rawValue)"
        let message: [String: Any] = [
            "type": event, "timestamp": iso(job.finishedAt ?? Date()),
            "data": describe(job, queuePosition: nil, baseURL: baseURL),
        ]
        let data = try JSONSerialization.data(withJSONObject: message, options: [.sortedKeys, .withoutEscapingSlashes])
        return (event, String(decoding: data, as: UTF8.self))
    }

    /// What a finished render made (duration, size, frames...), as stored with the job.
    static func facts(_ job: VideoJob) -> [String: Any] {
        job.result.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] } ?? [:]
    }

    static func iso(_ date: Date) -> String { date.formatted(.iso8601) }
}
