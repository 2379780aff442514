import Foundation
import GRDB

/// The webhook outbox: messages waiting for delivery, claimed with a lease like render jobs, and
/// the log of every attempt.
extension SQLiteStore {
    static func enqueueWebhook(
        _ db: Database, keyID: String, videoID: String, event: String, url: String, payload: String
    ) throws {
        let now = Date().timeIntervalSince1970
        try db.execute(
            sql: """
                INSERT INTO webhook_deliveries (id, key_id, video_id, event, url, payload, status, next_attempt_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)
                """,
            arguments: [StoreRules.newWebhookID(), keyID, videoID, event, url, payload, now, now])
    }

    public func claimWebhook(owner: String, lease: TimeInterval) async throws -> WebhookDelivery? {
        try await pool.write { db in
            let now = Date().timeIntervalSince1970
            guard
                let id = try String.fetchOne(
                    db,
                    sql: """
                        SELECT id FROM webhook_deliveries
                        WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_expires IS NULL OR lease_expires < ?)
                        ORDER BY next_attempt_at LIMIT 1
                        """, arguments: [now, now])
            else { return nil }
            try db.execute(
                sql: "UPDATE webhook_deliveries SET lease_owner = ?, lease_expires = ? WHERE id = ?",
                arguments: [owner, now + lease, id])
            return try Self.delivery(db, id: id)
        }
    }

    @discardableResult
    public func recordWebhookAttempt(
        _ id: String, owner: String, statusCode: Int?, error: String?, milliseconds: Double, jitter: Double,
        retryAfter: TimeInterval?
    ) async throws -> WebhookDelivery? {
        try await pool.write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT attempts FROM webhook_deliveries WHERE id = ? AND lease_owner = ?",
                    arguments: [id, owner])
            else { return nil }
            // `attempts` counts this schedule's tries (a manual resend starts a new schedule); the
            // log numbers every try ever made.
            let attempt = (row["attempts"] as Int) + 1
            let logged =
                (try Int.fetchOne(
                    db, sql: "SELECT COALESCE(MAX(attempt), 0) FROM webhook_attempts WHERE delivery_id = ?",
                    arguments: [id]) ?? 0) + 1
            let now = Date().timeIntervalSince1970
            try db.execute(
                sql: """
                    INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status_code, error, milliseconds)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [id, logged, now, statusCode, error, milliseconds])
            let (status, delay) = StoreRules.webhookOutcome(
                attempt: attempt, statusCode: statusCode, jitter: jitter, retryAfter: retryAfter)
            let delivered = status == .delivered
            try db.execute(
                sql: """
                    UPDATE webhook_deliveries SET attempts = ?, status = ?, next_attempt_at = ?, delivered_at = ?,
                        lease_owner = NULL, lease_expires = NULL
                    WHERE id = ?
                    """,
                arguments: [
                    attempt, status.rawValue, status == .pending ? now + (delay ?? 0) : nil,
                    delivered ? now : nil, id,
                ])
            return try Self.delivery(db, id: id)
        }
    }

    /// Sends a delivery of `keyID` again now (a failed one gets a fresh schedule). Returns it and
    /// whether it was queued (a delivered one is not sent again).
    public func retryWebhook(_ id: String, keyID: String) async throws -> (delivery: WebhookDelivery, queued: Bool)? {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?,
                        attempts = CASE WHEN status = 'failed' THEN 0 ELSE attempts END
                    WHERE id = ? AND key_id = ? AND status != 'delivered'
                    """, arguments: [Date().timeIntervalSince1970, id, keyID])
            let queued = db.changesCount == 1
            return try Self.delivery(db, id: id).flatMap { $0.keyID == keyID ? ($0, queued) : nil }
        }
    }

    /// A delivery of `keyID` with its attempts, oldest first.
    public func webhook(_ id: String, keyID: String) async throws -> (WebhookDelivery, [WebhookAttempt])? {
        try await pool.read { db in
            guard let delivery = try Self.delivery(db, id: id), delivery.keyID == keyID else { return nil }
            return (delivery, try Self.attempts(db, deliveryID: id))
        }
    }

    /// `keyID`'s deliveries, newest first, optionally for one video, with their attempts.
    public func webhooks(keyID: String, videoID: String?, limit: Int) async throws -> [(
        WebhookDelivery, [WebhookAttempt]
    )] {
        try await pool.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM webhook_deliveries WHERE key_id = ? AND (? IS NULL OR video_id = ?)
                    ORDER BY created_at DESC, id DESC LIMIT ?
                    """, arguments: [keyID, videoID, videoID, limit])
            return try rows.map { row in
                let delivery = Self.delivery(from: row)
                return (delivery, try Self.attempts(db, deliveryID: delivery.id))
            }
        }
    }

    /// The signing secret of the key a delivery belongs to.
    public func webhookSecret(keyID: String) async throws -> String? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT webhook_secret FROM api_keys WHERE id = ?", arguments: [keyID])
        }
    }

    /// Deliveries by status (for metrics).
    public func webhookCounts() async throws -> [WebhookDelivery.Status: Int] {
        try await pool.read { db in
            var out: [WebhookDelivery.Status: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM webhook_deliveries GROUP BY status")
            {
                if let status = WebhookDelivery.Status(rawValue: row["status"]) { out[status] = row["n"] }
            }
            return out
        }
    }

    static func delivery(_ db: Database, id: String) throws -> WebhookDelivery? {
        try Row.fetchOne(db, sql: "SELECT * FROM webhook_deliveries WHERE id = ?", arguments: [id]).map(
            Self.delivery(from:))
    }

    static func attempts(_ db: Database, deliveryID: String) throws -> [WebhookAttempt] {
        try Row.fetchAll(
            db, sql: "SELECT * FROM webhook_attempts WHERE delivery_id = ? ORDER BY attempt", arguments: [deliveryID]
        ).map { row in
            WebhookAttempt(
                attempt: row["attempt"], at: Date(timeIntervalSince1970: row["attempted_at"]),
                statusCode: row["status_code"], error: row["error"], milliseconds: row["milliseconds"])
        }
    }

    static func delivery(from row: Row) -> WebhookDelivery {
        WebhookDelivery(
            id: row["id"], keyID: row["key_id"], videoID: row["video_id"], event: row["event"], url: row["url"],
            payload: row["payload"], status: WebhookDelivery.Status(rawValue: row["status"]) ?? .failed,
            attempts: row["attempts"],
            nextAttemptAt: (row["next_attempt_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            deliveredAt: (row["delivered_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }
}
