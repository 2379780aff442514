import Foundation
import Hummingbird
import MouthpieceCore
import Store

/// `/v1/webhook-deliveries`: the delivery log of a key's webhooks, and a manual resend.
struct WebhookRoutes {
    let store: any DataStore

    func add(to group: RouterGroup<APIContext>) {
        group.get("webhook-deliveries") { request, context in
            let key = try context.requireKey()
            let query = request.uri.queryParameters
            let limit = query.get("limit", as: Int.self) ?? 50
            guard (1...100).contains(limit) else {
                throw MouthpieceError(.invalidParameter, "limit must be between 1 and 100.", field: "limit")
            }
            let rows = try await store.webhooks(keyID: key.id, videoID: query.get("video_id"), limit: limit)
            return JSONResponse.make(["object": "list", "data": rows.map(Self.describe)])
        }
        group.get("webhook-deliveries/:id") { _, context in
            let key = try context.requireKey()
            let id = try context.parameters.require("id")
            guard let found = try await store.webhook(id, keyID: key.id) else {
                throw MouthpieceError(.notFound, "No webhook delivery \(id).", field: "id")
            }
            return JSONResponse.make(Self.describe(found))
        }
        group.post("webhook-deliveries/:id/retry") { _, context in
            let key = try context.requireKey()
            let id = try context.parameters.require("id")
            guard let retried = try await store.retryWebhook(id, keyID: key.id),
                let found = try await store.webhook(id, keyID: key.id)
            else {
                throw MouthpieceError(.notFound, "No webhook delivery \(id).", field: "id")
            }
            // Delivered already: nothing is sent again.
            return JSONResponse.make(Self.describe(found), status: retried.queued ? .accepted : .conflict)
        }
    }

    static func describe(_ entry: (WebhookDelivery, [WebhookAttempt])) -> [String: Any] {
        let (delivery, attempts) = entry
        var out: [String: Any] = [
            "id": delivery.id, "object": "webhook_delivery", "event": delivery.event, "video_id": delivery.videoID,
            "url": delivery.url, "status": delivery.status.rawValue, "attempts": delivery.attempts,
            "created_at": VideoJSON.iso(delivery.createdAt),
            "log": attempts.map { attempt -> [String: Any] in
                var line: [String: Any] = [
                    "attempt": attempt.attempt, "at": VideoJSON.iso(attempt.at),
                    "duration_ms": (attempt.milliseconds * 10).rounded() / 10,
                ]
                if let code = attempt.statusCode { line["status_code"] = code }
                if let error = attempt.error { line["error"] = error }
                return line
            },
        ]
        if let next = delivery.nextAttemptAt, delivery.status == .pending {
            out["next_attempt_at"] = VideoJSON.iso(next)
        }
        if let delivered = delivery.deliveredAt { out["delivered_at"] = VideoJSON.iso(delivered) }
        return out
    }
}
