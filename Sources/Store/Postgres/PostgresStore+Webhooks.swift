import Foundation
import PostgresNIO

/// The webhook outbox: deliveries claimed with a lease like jobs, retried on a schedule, logged
/// attempt by attempt.
extension PostgresStore {
    // MARK: webhook outbox

    public func claimWebhook(owner: String, lease: TimeInterval) async throws -> WebhookDelivery? {
        try await rows(
            """
            UPDATE webhook_deliveries SET lease_owner = \(owner), lease_expires = \(unescaped: Self.now) + \(lease)
            WHERE id = (
                SELECT id FROM webhook_deliveries
                WHERE status = 'pending' AND next_attempt_at <= \(unescaped: Self.now)
                    AND (lease_expires IS NULL OR lease_expires < \(unescaped: Self.now))
                ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING *
            """
        ).first.map(Self.delivery(from:))
    }

    @discardableResult
    public func recordWebhookAttempt(
        _ id: String, owner: String, statusCode: Int?, error: String?, milliseconds: Double, jitter: Double,
        retryAfter: TimeInterval?
    ) async throws -> WebhookDelivery? {
        let logger = logger
        return try await client.withTransaction(logger: logger) { connection in
            let held = try await connection.query(
                "SELECT attempts FROM webhook_deliveries WHERE id = \(id) AND lease_owner = \(owner) FOR UPDATE",
                logger: logger
            ).collect()
            guard let row = held.first else { return nil }
            let attempt = try row.makeRandomAccess()["attempts"].decode(Int.self) + 1
            var logged = 1
            for try await last in try await connection.query(
                "SELECT COALESCE(MAX(attempt), 0) FROM webhook_attempts WHERE delivery_id = \(id)", logger: logger
            ).decode(Int.self) {
                logged = last + 1
            }
            try await connection.query(
                """
                INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status_code, error, milliseconds)
                VALUES (\(id), \(logged), \(unescaped: Self.now), \(statusCode), \(error), \(milliseconds))
                """, logger: logger)
            let (status, delay) = StoreRules.webhookOutcome(
                attempt: attempt, statusCode: statusCode, jitter: jitter, retryAfter: retryAfter)
            let updated = try await connection.query(
                """
                UPDATE webhook_deliveries SET attempts = \(attempt), status = \(status.rawValue),
                    next_attempt_at = CASE WHEN \(status.rawValue) = 'pending' THEN \(unescaped: Self.now) + \(delay ?? 0) ELSE NULL END,
                    delivered_at = CASE WHEN \(status.rawValue) = 'delivered' THEN \(unescaped: Self.now) ELSE NULL END,
                    lease_owner = NULL, lease_expires = NULL
                WHERE id = \(id) RETURNING *
                """, logger: logger
            ).collect()
            return try updated.first.map { try Self.delivery(from: $0.makeRandomAccess()) }
        }
    }

    public func retryWebhook(_ id: String, keyID: String) async throws -> (delivery: WebhookDelivery, queued: Bool)? {
        let updated = try await rows(
            """
            UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = \(unescaped: Self.now),
                attempts = CASE WHEN status = 'failed' THEN 0 ELSE attempts END
            WHERE id = \(id) AND key_id = \(keyID) AND status != 'delivered'
            RETURNING *
            """)
        if let row = updated.first { return (try Self.delivery(from: row), true) }
        return try await rows("SELECT * FROM webhook_deliveries WHERE id = \(id) AND key_id = \(keyID)").first.map {
            (try Self.delivery(from: $0), false)
        }
    }

    public func webhook(_ id: String, keyID: String) async throws -> (WebhookDelivery, [WebhookAttempt])? {
        guard
            let row = try await rows("SELECT * FROM webhook_deliveries WHERE id = \(id) AND key_id = \(keyID)").first
        else { return nil }
        return (try Self.delivery(from: row), try await attempts(deliveryID: id))
    }

    public func webhooks(keyID: String, videoID: String?, limit: Int) async throws -> [(
        WebhookDelivery, [WebhookAttempt]
    )] {
        let found =
            if let videoID {
                try await rows(
                    """
                    SELECT * FROM webhook_deliveries WHERE key_id = \(keyID) AND video_id = \(videoID)
                    ORDER BY created_at DESC, id DESC LIMIT \(limit)
                    """)
            } else {
                try await rows(
                    """
                    SELECT * FROM webhook_deliveries WHERE key_id = \(keyID)
                    ORDER BY created_at DESC, id DESC LIMIT \(limit)
                    """)
            }
        var out: [(WebhookDelivery, [WebhookAttempt])] = []
        for row in found {
            let delivery = try Self.delivery(from: row)
            out.append((delivery, try await attempts(deliveryID: delivery.id)))
        }
        return out
    }

    public func webhookCounts() async throws -> [WebhookDelivery.Status: Int] {
        var out: [WebhookDelivery.Status: Int] = [:]
        for row in try await rows("SELECT status, COUNT(*) AS n FROM webhook_deliveries GROUP BY status") {
            if let status = WebhookDelivery.Status(rawValue: try row["status"].decode(String.self)) {
                out[status] = try row["n"].decode(Int.self)
            }
        }
        return out
    }

    func attempts(deliveryID: String) async throws -> [WebhookAttempt] {
        try await rows("SELECT * FROM webhook_attempts WHERE delivery_id = \(deliveryID) ORDER BY attempt").map { row in
            WebhookAttempt(
                attempt: try row["attempt"].decode(Int.self),
                at: Date(timeIntervalSince1970: try row["attempted_at"].decode(Double.self)),
                statusCode: try row["status_code"].decode(Int?.self), error: try row["error"].decode(String?.self),
                milliseconds: try row["milliseconds"].decode(Double.self))
        }
    }

    public func webhookSecret(keyID: String) async throws -> String? {
        try await strings("SELECT webhook_secret FROM api_keys WHERE id = \(keyID)").first
    }

    static func delivery(from row: PostgresRandomAccessRow) throws -> WebhookDelivery {
        WebhookDelivery(
            id: try row["id"].decode(String.self), keyID: try row["key_id"].decode(String.self),
            videoID: try row["video_id"].decode(String.self), event: try row["event"].decode(String.self),
            url: try row["url"].decode(String.self), payload: try row["payload"].decode(String.self),
            status: WebhookDelivery.Status(rawValue: try row["status"].decode(String.self)) ?? .failed,
            attempts: try row["attempts"].decode(Int.self),
            nextAttemptAt: try date(row, "next_attempt_at"),
            createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)),
            deliveredAt: try date(row, "delivered_at"))
    }
}
