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
            return ListResource(rows.map(WebhookDeliveryResource.init))
        }
        group.get("webhook-deliveries/:id") { _, context in
            let key = try context.requireKey()
            let id = try context.parameters.require("id")
            guard let found = try await store.webhook(id, keyID: key.id) else {
                throw MouthpieceError(.notFound, "No webhook delivery \(id).", field: "id")
            }
            return WebhookDeliveryResource(found.0, found.1)
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
            return JSONResponse.make(
                WebhookDeliveryResource(found.0, found.1), status: retried.queued ? .accepted : .conflict)
        }
    }
}
