import Foundation
import GRDB

/// The job queue (submissions, leases, cancels, deletion) and the usage counted from its jobs.
extension SQLiteStore {
    // MARK: videos

    /// Adds a queued job, or returns the job an earlier submission with the same idempotency key
    /// made (and `false`).
    public func submit(_ job: VideoJob, idempotencyKey: String?) async throws -> (VideoJob, created: Bool) {
        try await pool.write { db in
            if let idempotencyKey,
                let existing = try String.fetchOne(
                    db, sql: "SELECT video_id FROM idempotency WHERE key_id = ? AND idempotency_key = ?",
                    arguments: [job.keyID, idempotencyKey]),
                let earlier = try Row.fetchOne(db, sql: "SELECT * FROM videos WHERE id = ?", arguments: [existing])
            {
                return (Self.job(from: earlier), false)
            }
            try db.execute(
                sql: """
                    INSERT INTO videos (id, key_id, status, options, image_blob, audio_blob, webhook_url, created_at, priority)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    job.id, job.keyID, job.status.rawValue, job.options, job.imageBlob, job.audioBlob, job.webhookURL,
                    job.createdAt.timeIntervalSince1970, job.priority,
                ])
            if let idempotencyKey {
                try db.execute(
                    sql: "INSERT INTO idempotency (key_id, idempotency_key, video_id, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [job.keyID, idempotencyKey, job.id, Date().timeIntervalSince1970])
            }
            return (job, true)
        }
    }

    /// The job an earlier submission of `keyID` with this idempotency key made, if any.
    public func video(idempotencyKey: String, keyID: String) async throws -> VideoJob? {
        try await pool.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT videos.* FROM idempotency JOIN videos ON videos.id = idempotency.video_id
                    WHERE idempotency.key_id = ? AND idempotency.idempotency_key = ?
                    """, arguments: [keyID, idempotencyKey]
            ).map(Self.job(from:))
        }
    }

    /// The job, if it exists and belongs to `keyID`.
    public func video(_ id: String, keyID: String) async throws -> VideoJob? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM videos WHERE id = ? AND key_id = ? AND deleted_at IS NULL",
                arguments: [id, keyID]
            ).map(Self.job(from:))
        }
    }

    /// Jobs queued before this one (its place in the queue, 0 = next).
    public func queuePosition(of job: VideoJob) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM videos WHERE status = 'queued' AND created_at < ?",
                arguments: [job.createdAt.timeIntervalSince1970]) ?? 0
        }
    }

    /// Claims the oldest queued job (or one whose lease ran out) for `owner` for `lease` seconds.
    public func claim(owner: String, lease: TimeInterval) async throws -> VideoJob? {
        try await pool.write { db in
            let now = Date().timeIntervalSince1970
            // A job whose worker died after its cancel was asked for ends canceled, never rendered again.
            try db.execute(
                sql: """
                    UPDATE videos SET status = 'canceled', finished_at = ?, error_code = 'canceled',
                        error_message = 'Canceled.', lease_owner = NULL, lease_expires = NULL
                    WHERE status = 'processing' AND lease_expires < ? AND cancel_requested
                    """, arguments: [now, now])
            guard
                let id = try String.fetchOne(
                    db,
                    sql: """
                        WITH waiting AS (SELECT DISTINCT key_id FROM videos WHERE status IN ('queued', 'processing')),
                        keys AS (
                            SELECT v.key_id,
                                SUM(CASE WHEN v.status = 'processing' AND v.lease_expires >= ? THEN 1 ELSE 0 END)
                                    AS rendering,
                                COALESCE(MAX(v.started_at), 0) AS served
                            FROM videos v JOIN waiting w ON w.key_id = v.key_id GROUP BY v.key_id)
                        SELECT v.id FROM videos v
                        JOIN keys k ON k.key_id = v.key_id JOIN api_keys a ON a.id = v.key_id
                        WHERE (v.status = 'queued' OR (v.status = 'processing' AND v.lease_expires < ?))
                            AND k.rendering < a.concurrency
                        ORDER BY v.priority DESC, k.served, v.created_at LIMIT 1
                        """, arguments: [now, now])
            else { return nil }
            try db.execute(
                sql: """
                    UPDATE videos SET
                        error_code = CASE WHEN status = 'processing' THEN ? ELSE error_code END,
                        error_message = CASE WHEN status = 'processing' THEN ? ELSE error_message END,
                        status = 'processing', lease_owner = ?, lease_expires = ?,
                        started_at = COALESCE(started_at, ?), attempts = attempts + 1, progress = 0
                    WHERE id = ?
                    """,
                arguments: [StoreRules.workerLostCode, StoreRules.workerLostMessage, owner, now + lease, now, id])
            return try Row.fetchOne(db, sql: "SELECT * FROM videos WHERE id = ?", arguments: [id]).map(Self.job(from:))
        }
    }

    /// Records progress and extends the lease; false when the job is no longer this owner's, or
    /// a cancel was asked for.
    public func heartbeat(_ id: String, owner: String, progress: Double, lease: TimeInterval) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE videos SET progress = ?, lease_expires = ?
                    WHERE id = ? AND lease_owner = ? AND status = 'processing'
                    """, arguments: [progress, Date().timeIntervalSince1970 + lease, id, owner])
            guard db.changesCount == 1 else { return false }
            return try Bool.fetchOne(db, sql: "SELECT cancel_requested FROM videos WHERE id = ?", arguments: [id])
                == false
        }
    }

    @discardableResult
    public func finish(
        _ id: String, owner: String, status: VideoStatus, resultBlob: String?, result: String?,
        outputSeconds: Double?, errorCode: String?, errorMessage: String?,
        webhook: (@Sendable (VideoJob) throws -> (event: String, payload: String))?
    ) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE videos SET status = ?, finished_at = ?, progress = CASE WHEN ? = 'completed' THEN 1 ELSE progress END,
                        result_blob = ?, result = ?, output_seconds = ?, error_code = ?, error_message = ?,
                        lease_owner = NULL, lease_expires = NULL
                    WHERE id = ? AND lease_owner = ? AND status = 'processing'
                    """,
                arguments: [
                    status.rawValue, Date().timeIntervalSince1970, status.rawValue, resultBlob, result, outputSeconds,
                    errorCode, errorMessage, id, owner,
                ])
            guard db.changesCount == 1 else { return false }
            guard status == .completed || status == .failed,
                let row = try Row.fetchOne(db, sql: "SELECT * FROM videos WHERE id = ?", arguments: [id])
            else { return true }
            let job = Self.job(from: row)
            guard let url = job.webhookURL, let webhook else { return true }
            let message = try webhook(job)
            try Self.enqueueWebhook(
                db, keyID: job.keyID, videoID: job.id, event: message.event, url: url,
                payload: message.payload)
            return true
        }
    }

    /// Jobs of `keyID` queued or rendering.
    public func inFlightCount(keyID: String) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM videos WHERE key_id = ? AND status IN ('queued', 'processing')",
                arguments: [keyID]) ?? 0
        }
    }

    /// A page of `keyID`'s videos, newest first, after the cursor (a video id) if given.
    public func videos(keyID: String, after cursor: String?, limit: Int) async throws -> [VideoJob] {
        try await pool.read { db in
            if let cursor,
                let anchor = try Row.fetchOne(
                    db, sql: "SELECT created_at, id FROM videos WHERE id = ? AND key_id = ?",
                    arguments: [cursor, keyID])
            {
                let (created, id): (Double, String) = (anchor["created_at"], anchor["id"])
                return try Row.fetchAll(
                    db,
                    sql: """
                        SELECT * FROM videos WHERE key_id = ? AND deleted_at IS NULL AND (created_at < ? OR (created_at = ? AND id < ?))
                        ORDER BY created_at DESC, id DESC LIMIT ?
                        """, arguments: [keyID, created, created, id, limit]
                ).map(Self.job(from:))
            }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM videos WHERE key_id = ? AND deleted_at IS NULL
                    ORDER BY created_at DESC, id DESC LIMIT ?
                    """,
                arguments: [keyID, limit]
            ).map(Self.job(from:))
        }
    }

    public func release(_ id: String, owner: String, errorCode: String?, errorMessage: String?) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE videos SET status = CASE WHEN cancel_requested THEN 'canceled' ELSE 'queued' END,
                        finished_at = CASE WHEN cancel_requested THEN ? ELSE NULL END,
                        lease_owner = NULL, lease_expires = NULL, progress = 0,
                        attempts = CASE WHEN ? THEN attempts - 1 ELSE attempts END,
                        error_code = CASE WHEN cancel_requested THEN 'canceled' ELSE COALESCE(?, error_code) END,
                        error_message = CASE WHEN cancel_requested THEN 'Canceled.'
                            ELSE COALESCE(?, error_message) END
                    WHERE id = ? AND lease_owner = ? AND status = 'processing'
                    """,
                arguments: [Date().timeIntervalSince1970, errorCode == nil, errorCode, errorMessage, id, owner])
        }
    }

    /// Cancels a job of `keyID`: a queued one at once, a running one when its worker next checks.
    public func cancel(_ id: String, keyID: String) async throws -> VideoJob? {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE videos SET status = 'canceled', finished_at = ?
                    WHERE id = ? AND key_id = ? AND status = 'queued'
                    """, arguments: [Date().timeIntervalSince1970, id, keyID])
            try db.execute(
                sql: "UPDATE videos SET cancel_requested = 1 WHERE id = ? AND key_id = ? AND status = 'processing'",
                arguments: [id, keyID])
            return try Row.fetchOne(
                db, sql: "SELECT * FROM videos WHERE id = ? AND key_id = ?", arguments: [id, keyID]
            )
            .map(Self.job(from:))
        }
    }

    public func deleteVideo(_ id: String, keyID: String) async throws -> (VideoJob, deleted: Bool)? {
        try await pool.write { db in
            guard
                let job = try Row.fetchOne(
                    db, sql: "SELECT * FROM videos WHERE id = ? AND key_id = ? AND deleted_at IS NULL",
                    arguments: [id, keyID]
                ).map(Self.job(from:))
            else { return nil }
            guard job.status.isFinal else { return (job, false) }
            try db.execute(
                sql: """
                    UPDATE videos SET deleted_at = ?, result_blob = NULL, image_blob = '', audio_blob = ''
                    WHERE id = ?
                    """, arguments: [Date().timeIntervalSince1970, id])
            return (job, true)
        }
    }

    public func expiredVideos(finishedBefore cutoff: Date, limit: Int) async throws -> [VideoJob] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM videos WHERE deleted_at IS NULL AND status IN ('completed', 'failed', 'canceled')
                        AND finished_at < ?
                    ORDER BY finished_at LIMIT ?
                    """, arguments: [cutoff.timeIntervalSince1970, limit]
            ).map(Self.job(from:))
        }
    }

    /// Jobs of `keyID` now rendering.
    public func processingCount(keyID: String) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM videos WHERE key_id = ? AND status = 'processing'", arguments: [keyID])
                ?? 0
        }
    }

    /// Jobs by status (for metrics).
    public func statusCounts() async throws -> [VideoStatus: Int] {
        try await pool.read { db in
            var out: [VideoStatus: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM videos GROUP BY status") {
                if let status = VideoStatus(rawValue: row["status"]) { out[status] = row["n"] }
            }
            return out
        }
    }

    /// A job by id whatever its key: only for callers that have checked a capability (a signed
    /// file link) first.
    public func video(_ id: String) async throws -> VideoJob? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM videos WHERE id = ?", arguments: [id]).map(Self.job(from:))
        }
    }

    // MARK: usage

    /// Output seconds rendered for `keyID`, in all and by UTC day (newest first).
    public func usage(keyID: String) async throws -> (
        total: Double, byDay: [(day: String, seconds: Double, videos: Int)]
    ) {
        try await pool.read { db in
            let total =
                try Double.fetchOne(
                    db,
                    sql:
                        "SELECT COALESCE(SUM(output_seconds), 0) FROM videos WHERE key_id = ? AND status = 'completed'",
                    arguments: [keyID]) ?? 0
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT date(finished_at, 'unixepoch') AS day, COALESCE(SUM(output_seconds), 0) AS seconds,
                        COUNT(*) AS videos
                    FROM videos WHERE key_id = ? AND status = 'completed'
                    GROUP BY day ORDER BY day DESC
                    """, arguments: [keyID])
            return (total, rows.map { ($0["day"], $0["seconds"], $0["videos"]) })
        }
    }

    // MARK: rows

    static func job(from row: Row) -> VideoJob {
        func date(_ column: String) -> Date? { (row[column] as Double?).map(Date.init(timeIntervalSince1970:)) }
        return VideoJob(
            id: row["id"], keyID: row["key_id"], status: VideoStatus(rawValue: row["status"]) ?? .failed,
            options: row["options"], imageBlob: row["image_blob"], audioBlob: row["audio_blob"],
            webhookURL: row["webhook_url"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
            startedAt: date("started_at"), finishedAt: date("finished_at"), progress: row["progress"],
            attempts: row["attempts"], errorCode: row["error_code"], errorMessage: row["error_message"],
            resultBlob: row["result_blob"], result: row["result"], cancelRequested: row["cancel_requested"],
            priority: row["priority"])
    }
}
