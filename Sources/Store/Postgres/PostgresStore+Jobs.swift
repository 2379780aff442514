import Foundation
import MouthpieceCore
import PostgresNIO

/// The job queue (submissions, leases, cancels, deletion) and the usage counted from its jobs.
extension PostgresStore {
    // MARK: videos

    public func submit(_ job: VideoJob, idempotencyKey: String?) async throws -> (VideoJob, created: Bool) {
        let logger = logger
        return try await client.withTransaction(logger: logger) { connection in
            if let idempotencyKey {
                // A concurrent submission with the same key waits here for the first to commit.
                let claimed = try await connection.query(
                    """
                    INSERT INTO idempotency (key_id, idempotency_key, video_id, created_at)
                    VALUES (\(job.keyID), \(idempotencyKey), \(job.id), \(unescaped: Self.now))
                    ON CONFLICT DO NOTHING RETURNING video_id
                    """, logger: logger
                ).collect()
                if claimed.isEmpty {
                    let earlier = try await connection.query(
                        """
                        SELECT videos.* FROM idempotency JOIN videos ON videos.id = idempotency.video_id
                        WHERE idempotency.key_id = \(job.keyID) AND idempotency.idempotency_key = \(idempotencyKey)
                        """, logger: logger
                    ).collect()
                    if let row = earlier.first { return (try Self.job(from: row), false) }
                }
            }
            let inserted = try await connection.query(
                """
                INSERT INTO videos (id, key_id, status, options, image_blob, audio_blob, webhook_url, created_at, priority)
                VALUES (\(job.id), \(job.keyID), \(job.status.rawValue), \(job.options), \(job.imageBlob),
                    \(job.audioBlob), \(job.webhookURL), \(job.createdAt.timeIntervalSince1970), \(job.priority))
                RETURNING *
                """, logger: logger
            ).collect()
            guard let row = inserted.first else { throw MouthpieceError(.internalError, "The job was not stored.") }
            return (try Self.job(from: row), true)
        }
    }

    public func video(idempotencyKey: String, keyID: String) async throws -> VideoJob? {
        try await jobs(
            """
            SELECT videos.* FROM idempotency JOIN videos ON videos.id = idempotency.video_id
            WHERE idempotency.key_id = \(keyID) AND idempotency.idempotency_key = \(idempotencyKey)
            """
        ).first
    }

    public func video(_ id: String, keyID: String) async throws -> VideoJob? {
        try await jobs("SELECT * FROM videos WHERE id = \(id) AND key_id = \(keyID) AND deleted_at IS NULL").first
    }

    public func video(_ id: String) async throws -> VideoJob? {
        try await jobs("SELECT * FROM videos WHERE id = \(id)").first
    }

    public func videos(keyID: String, after cursor: String?, limit: Int) async throws -> [VideoJob] {
        // The cursor may have been deleted since (by its owner or the retention sweep): it still
        // marks the place, so it is looked up deleted or not.
        if let cursor,
            let anchor = try await jobs("SELECT * FROM videos WHERE id = \(cursor) AND key_id = \(keyID)").first
        {
            let created = anchor.createdAt.timeIntervalSince1970
            return try await jobs(
                """
                SELECT * FROM videos WHERE key_id = \(keyID) AND deleted_at IS NULL
                    AND (created_at < \(created) OR (created_at = \(created) AND id < \(anchor.id)))
                ORDER BY created_at DESC, id DESC LIMIT \(limit)
                """)
        }
        return try await jobs(
            """
            SELECT * FROM videos WHERE key_id = \(keyID) AND deleted_at IS NULL
            ORDER BY created_at DESC, id DESC LIMIT \(limit)
            """)
    }

    public func deleteVideo(_ id: String, keyID: String) async throws -> (VideoJob, deleted: Bool)? {
        // The row as it was (its files, for the caller to remove) from the same statement that
        // marks it deleted; only a finished video is deleted.
        if let old = try await jobs(
            """
            UPDATE videos SET deleted_at = \(unescaped: Self.now), result_blob = NULL, image_blob = '', audio_blob = ''
            FROM (SELECT * FROM videos WHERE id = \(id) AND key_id = \(keyID) AND deleted_at IS NULL FOR UPDATE) old
            WHERE videos.id = old.id AND old.status IN ('completed', 'failed', 'canceled')
            RETURNING old.*
            """
        ).first {
            return (old, true)
        }
        return try await video(id, keyID: keyID).map { ($0, false) }
    }

    public func expiredVideos(finishedBefore cutoff: Date, limit: Int) async throws -> [VideoJob] {
        try await jobs(
            """
            SELECT * FROM videos WHERE deleted_at IS NULL AND status IN ('completed', 'failed', 'canceled')
                AND finished_at < \(cutoff.timeIntervalSince1970)
            ORDER BY finished_at LIMIT \(limit)
            """)
    }

    public func queuePosition(of job: VideoJob) async throws -> Int {
        try await count(
            "SELECT COUNT(*) FROM videos WHERE status = 'queued' AND created_at < \(job.createdAt.timeIntervalSince1970)"
        )
    }

    public func inFlightCount(keyID: String) async throws -> Int {
        try await count(
            "SELECT COUNT(*) FROM videos WHERE key_id = \(keyID) AND status IN ('queued', 'processing')")
    }

    public func processingCount(keyID: String) async throws -> Int {
        try await count("SELECT COUNT(*) FROM videos WHERE key_id = \(keyID) AND status = 'processing'")
    }

    public func statusCounts() async throws -> [VideoStatus: Int] {
        var out: [VideoStatus: Int] = [:]
        for row in try await rows("SELECT status, COUNT(*) AS n FROM videos GROUP BY status") {
            if let status = VideoStatus(rawValue: try row["status"].decode(String.self)) {
                out[status] = try row["n"].decode(Int.self)
            }
        }
        return out
    }

    public func claim(owner: String, lease: TimeInterval) async throws -> VideoJob? {
        let logger = logger
        return try await client.withTransaction(logger: logger) { connection in
            // One claim at a time across the deployment: a key's count of renders checked here
            // stays true until this claim commits (claims are few: one per render).
            try await connection.query("SELECT pg_advisory_xact_lock(7146354902)", logger: logger)
            // A job whose worker died after its cancel was asked for ends canceled, never rendered again.
            try await connection.query(
                """
                UPDATE videos SET status = 'canceled', finished_at = \(unescaped: Self.now), error_code = 'canceled',
                    error_message = 'Canceled.', lease_owner = NULL, lease_expires = NULL
                WHERE status = 'processing' AND lease_expires < \(unescaped: Self.now) AND cancel_requested
                """, logger: logger)
            let claimed = try await connection.query(
                """
                WITH waiting AS (SELECT DISTINCT key_id FROM videos WHERE status IN ('queued', 'processing')),
                keys AS (
                    SELECT v.key_id,
                        COUNT(*) FILTER (
                            WHERE v.status = 'processing' AND v.lease_expires >= \(unescaped: Self.now)) AS rendering,
                        COALESCE(MAX(v.started_at), 0) AS served
                    FROM videos v JOIN waiting w ON w.key_id = v.key_id GROUP BY v.key_id)
                UPDATE videos SET
                    error_code = CASE WHEN status = 'processing' THEN \(StoreRules.workerLostCode) ELSE error_code END,
                    error_message = CASE WHEN status = 'processing' THEN \(StoreRules.workerLostMessage) ELSE error_message END,
                    status = 'processing', lease_owner = \(owner), lease_expires = \(unescaped: Self.now) + \(lease),
                    started_at = COALESCE(started_at, \(unescaped: Self.now)), attempts = attempts + 1, progress = 0
                WHERE id = (
                    SELECT v.id FROM videos v
                    JOIN keys k ON k.key_id = v.key_id JOIN api_keys a ON a.id = v.key_id
                    WHERE (v.status = 'queued' OR (v.status = 'processing' AND v.lease_expires < \(unescaped: Self.now)))
                        AND k.rendering < a.concurrency
                    ORDER BY v.priority DESC, k.served, v.created_at LIMIT 1 FOR UPDATE OF v SKIP LOCKED)
                RETURNING *
                """, logger: logger)
            var job: VideoJob?
            for try await row in claimed { job = try Self.job(from: row) }
            return job
        }
    }

    public func heartbeat(_ id: String, owner: String, progress: Double, lease: TimeInterval) async throws -> Bool {
        let held = try await rows(
            """
            UPDATE videos SET progress = \(progress), lease_expires = \(unescaped: Self.now) + \(lease)
            WHERE id = \(id) AND lease_owner = \(owner) AND status = 'processing'
            RETURNING cancel_requested
            """)
        guard let row = held.first else { return false }
        return try row["cancel_requested"].decode(Bool.self) == false
    }

    @discardableResult
    public func finish(
        _ id: String, owner: String, status: VideoStatus, resultBlob: String?, result: String?,
        outputSeconds: Double?, errorCode: String?, errorMessage: String?,
        webhook: (@Sendable (VideoJob) throws -> (event: String, payload: String))?
    ) async throws -> Bool {
        let logger = logger
        return try await client.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                UPDATE videos SET status = \(status.rawValue), finished_at = \(unescaped: Self.now),
                    progress = CASE WHEN \(status.rawValue) = 'completed' THEN 1 ELSE progress END,
                    result_blob = \(resultBlob), result = \(result), output_seconds = \(outputSeconds),
                    error_code = \(errorCode), error_message = \(errorMessage), lease_owner = NULL, lease_expires = NULL
                WHERE id = \(id) AND lease_owner = \(owner) AND status = 'processing'
                RETURNING *
                """, logger: logger
            ).collect()
            guard let row = rows.first else { return false }
            let job = try Self.job(from: row)
            guard status == .completed || status == .failed, let url = job.webhookURL, let webhook else { return true }
            let message = try webhook(job)
            try await connection.query(
                """
                INSERT INTO webhook_deliveries (id, key_id, video_id, event, url, payload, status, next_attempt_at, created_at)
                VALUES (\(StoreRules.newWebhookID()), \(job.keyID), \(job.id), \(message.event), \(url),
                    \(message.payload), 'pending', \(unescaped: Self.now), \(unescaped: Self.now))
                """, logger: logger)
            return true
        }
    }

    public func release(_ id: String, owner: String, errorCode: String?, errorMessage: String?) async throws {
        try await client.query(
            """
            UPDATE videos SET status = CASE WHEN cancel_requested THEN 'canceled' ELSE 'queued' END,
                finished_at = CASE WHEN cancel_requested THEN \(unescaped: Self.now) ELSE NULL END,
                lease_owner = NULL, lease_expires = NULL, progress = 0,
                attempts = CASE WHEN \(errorCode == nil) THEN attempts - 1 ELSE attempts END,
                error_code = CASE WHEN cancel_requested THEN 'canceled' ELSE COALESCE(\(errorCode), error_code) END,
                error_message = CASE WHEN cancel_requested THEN 'Canceled.'
                    ELSE COALESCE(\(errorMessage), error_message) END
            WHERE id = \(id) AND lease_owner = \(owner) AND status = 'processing'
            """, logger: logger)
    }

    public func cancel(_ id: String, keyID: String) async throws -> VideoJob? {
        let logger = logger
        return try await client.withTransaction(logger: logger) { connection in
            try await connection.query(
                """
                UPDATE videos SET status = 'canceled', finished_at = \(unescaped: Self.now)
                WHERE id = \(id) AND key_id = \(keyID) AND status = 'queued'
                """, logger: logger)
            let rows = try await connection.query(
                """
                UPDATE videos SET cancel_requested = cancel_requested OR status = 'processing'
                WHERE id = \(id) AND key_id = \(keyID) RETURNING *
                """, logger: logger
            ).collect()
            return try rows.first.map(Self.job(from:))
        }
    }

    // MARK: usage

    public func usage(keyID: String) async throws -> (
        total: Double, byDay: [(day: String, seconds: Double, videos: Int)]
    ) {
        let days = try await rows(
            """
            SELECT to_char(to_timestamp(finished_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
                SUM(output_seconds) AS seconds, COUNT(*) AS videos
            FROM videos WHERE key_id = \(keyID) AND status = 'completed'
            GROUP BY day ORDER BY day DESC
            """
        ).map { row in
            (
                try row["day"].decode(String.self), try row["seconds"].decode(Double?.self) ?? 0,
                try row["videos"].decode(Int.self)
            )
        }
        return (days.reduce(0) { $0 + $1.1 }, days)
    }

    // MARK: rows

    func jobs(_ query: PostgresQuery) async throws -> [VideoJob] {
        try await rows(query).map(Self.job(from:))
    }

    static func job(from row: PostgresRow) throws -> VideoJob { try job(from: row.makeRandomAccess()) }

    static func job(from row: PostgresRandomAccessRow) throws -> VideoJob {
        VideoJob(
            id: try row["id"].decode(String.self), keyID: try row["key_id"].decode(String.self),
            status: VideoStatus(rawValue: try row["status"].decode(String.self)) ?? .failed,
            options: try row["options"].decode(String.self), imageBlob: try row["image_blob"].decode(String.self),
            audioBlob: try row["audio_blob"].decode(String.self),
            webhookURL: try row["webhook_url"].decode(String?.self),
            createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)),
            startedAt: try date(row, "started_at"), finishedAt: try date(row, "finished_at"),
            progress: try row["progress"].decode(Double.self), attempts: try row["attempts"].decode(Int.self),
            errorCode: try row["error_code"].decode(String?.self),
            errorMessage: try row["error_message"].decode(String?.self),
            resultBlob: try row["result_blob"].decode(String?.self), result: try row["result"].decode(String?.self),
            cancelRequested: try row["cancel_requested"].decode(Bool.self),
            priority: try row["priority"].decode(Int.self))
    }
}
