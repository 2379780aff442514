import Crypto
import Foundation
import GRDB
import MouthpieceCore

/// The embedded store: one SQLite database (WAL) under the data directory.
///
/// Jobs are claimed with a lease: a worker that dies leaves its job to be claimed again once the
/// lease runs out, so a job survives a crash of the process rendering it.
public final class SQLiteStore: DataStore {
    let pool: DatabasePool

    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE api_keys (
                        id TEXT PRIMARY KEY,
                        name TEXT NOT NULL,
                        secret_hash TEXT NOT NULL UNIQUE,
                        webhook_secret TEXT NOT NULL,
                        quota_seconds REAL,
                        concurrency INTEGER NOT NULL,
                        created_at REAL NOT NULL
                    );
                    CREATE TABLE videos (
                        id TEXT PRIMARY KEY,
                        key_id TEXT NOT NULL REFERENCES api_keys(id),
                        status TEXT NOT NULL,
                        options TEXT NOT NULL,
                        image_blob TEXT NOT NULL,
                        audio_blob TEXT NOT NULL,
                        webhook_url TEXT,
                        created_at REAL NOT NULL,
                        started_at REAL,
                        finished_at REAL,
                        progress REAL NOT NULL DEFAULT 0,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        lease_owner TEXT,
                        lease_expires REAL,
                        error_code TEXT,
                        error_message TEXT,
                        result_blob TEXT,
                        result TEXT,
                        output_seconds REAL,
                        cancel_requested INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE INDEX videos_by_status ON videos(status, created_at);
                    CREATE INDEX videos_by_key ON videos(key_id, created_at);
                    CREATE TABLE idempotency (
                        key_id TEXT NOT NULL,
                        idempotency_key TEXT NOT NULL,
                        video_id TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        PRIMARY KEY (key_id, idempotency_key)
                    );
                    """)
        }
        migrator.registerMigration("v2-avatars") { db in
            try db.execute(
                sql: """
                    CREATE TABLE avatars (
                        id TEXT PRIMARY KEY,
                        key_id TEXT NOT NULL REFERENCES api_keys(id),
                        image_blob TEXT NOT NULL,
                        preview_blob TEXT NOT NULL,
                        analysis TEXT NOT NULL,
                        created_at REAL NOT NULL
                    );
                    CREATE INDEX avatars_by_key ON avatars(key_id, created_at);
                    """)
        }
        migrator.registerMigration("v3-webhooks") { db in
            try db.execute(
                sql: """
                    CREATE TABLE webhook_deliveries (
                        id TEXT PRIMARY KEY,
                        key_id TEXT NOT NULL REFERENCES api_keys(id),
                        video_id TEXT NOT NULL,
                        event TEXT NOT NULL,
                        url TEXT NOT NULL,
                        payload TEXT NOT NULL,
                        status TEXT NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at REAL,
                        lease_owner TEXT,
                        lease_expires REAL,
                        created_at REAL NOT NULL,
                        delivered_at REAL
                    );
                    CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
                    CREATE INDEX webhook_deliveries_by_key ON webhook_deliveries(key_id, created_at);
                    CREATE TABLE webhook_attempts (
                        delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id),
                        attempt INTEGER NOT NULL,
                        attempted_at REAL NOT NULL,
                        status_code INTEGER,
                        error TEXT,
                        milliseconds REAL NOT NULL,
                        PRIMARY KEY (delivery_id, attempt)
                    );
                    """)
        }
        migrator.registerMigration("v4-scale-out") { db in
            try db.execute(
                sql: """
                    CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
                    """)
        }
        migrator.registerMigration("v5-retention") { db in
            try db.execute(
                sql: """
                    ALTER TABLE videos ADD COLUMN deleted_at REAL;
                    CREATE INDEX videos_by_finish ON videos(finished_at) WHERE deleted_at IS NULL;
                    """)
        }
        return migrator
    }

    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Array(Self.migrator.appliedIdentifiers(db)).sorted() }
    }

    public func sharedSecret(_ name: String, proposed: String) throws -> String {
        try pool.write { db in
            try db.execute(
                sql: "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO NOTHING",
                arguments: [name, proposed])
            return try String.fetchOne(db, sql: "SELECT value FROM settings WHERE name = ?", arguments: [name])
                ?? proposed
        }
    }

    // MARK: avatars

    public func addAvatar(_ avatar: Avatar) throws {
        try pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO avatars (id, key_id, image_blob, preview_blob, analysis, created_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    avatar.id, avatar.keyID, avatar.imageBlob, avatar.previewBlob, avatar.analysis,
                    avatar.createdAt.timeIntervalSince1970,
                ])
        }
    }

    public func avatar(_ id: String, keyID: String) throws -> Avatar? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM avatars WHERE id = ? AND key_id = ?", arguments: [id, keyID])
                .map(Self.avatar(from:))
        }
    }

    /// `keyID`'s avatars, newest first.
    public func avatars(keyID: String, limit: Int) throws -> [Avatar] {
        try pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM avatars WHERE key_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
                arguments: [keyID, limit]
            ).map(Self.avatar(from:))
        }
    }

    /// Removes the avatar; returns it (so its files can go too), or nil if there was none.
    public func deleteAvatar(_ id: String, keyID: String) throws -> Avatar? {
        try pool.write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM avatars WHERE id = ? AND key_id = ?", arguments: [id, keyID])
            else { return nil }
            try db.execute(sql: "DELETE FROM avatars WHERE id = ?", arguments: [id])
            return Self.avatar(from: row)
        }
    }

    static func avatar(from row: Row) -> Avatar {
        Avatar(
            id: row["id"], keyID: row["key_id"], imageBlob: row["image_blob"], previewBlob: row["preview_blob"],
            analysis: row["analysis"], createdAt: Date(timeIntervalSince1970: row["created_at"]))
    }

    // MARK: keys

    /// Creates a key; returns it with its secret, which is shown once and stored only as a hash.
    public func createKey(name: String, quotaSeconds: Double?, concurrency: Int) throws -> (APIKey, secret: String) {
        let (key, secret) = StoreRules.newKey(name: name, quotaSeconds: quotaSeconds, concurrency: concurrency)
        try pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO api_keys (id, name, secret_hash, webhook_secret, quota_seconds, concurrency, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    key.id, key.name, StoreRules.hash(secret), key.webhookSecret, key.quotaSeconds, key.concurrency,
                    key.createdAt.timeIntervalSince1970,
                ])
        }
        return (key, secret)
    }

    /// The key whose secret this is, or nil.
    public func key(secret: String) throws -> APIKey? {
        try pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM api_keys WHERE secret_hash = ?", arguments: [StoreRules.hash(secret)]
            )
            .map(Self.key(from:))
        }
    }

    // MARK: videos

    /// Adds a queued job, or returns the job an earlier submission with the same idempotency key
    /// made (and `false`).
    public func submit(_ job: VideoJob, idempotencyKey: String?) throws -> (VideoJob, created: Bool) {
        try pool.write { db in
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
                    INSERT INTO videos (id, key_id, status, options, image_blob, audio_blob, webhook_url, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    job.id, job.keyID, job.status.rawValue, job.options, job.imageBlob, job.audioBlob, job.webhookURL,
                    job.createdAt.timeIntervalSince1970,
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
    public func video(idempotencyKey: String, keyID: String) throws -> VideoJob? {
        try pool.read { db in
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
    public func video(_ id: String, keyID: String) throws -> VideoJob? {
        try pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM videos WHERE id = ? AND key_id = ? AND deleted_at IS NULL",
                arguments: [id, keyID]
            ).map(Self.job(from:))
        }
    }

    /// Jobs queued before this one (its place in the queue, 0 = next).
    public func queuePosition(of job: VideoJob) throws -> Int {
        try pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM videos WHERE status = 'queued' AND created_at < ?",
                arguments: [job.createdAt.timeIntervalSince1970]) ?? 0
        }
    }

    /// Claims the oldest queued job (or one whose lease ran out) for `owner` for `lease` seconds.
    public func claim(owner: String, lease: TimeInterval) throws -> VideoJob? {
        try pool.write { db in
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
                        SELECT id FROM videos
                        WHERE status = 'queued' OR (status = 'processing' AND lease_expires < ?)
                        ORDER BY created_at LIMIT 1
                        """, arguments: [now])
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
    public func heartbeat(_ id: String, owner: String, progress: Double, lease: TimeInterval) throws -> Bool {
        try pool.write { db in
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
    ) throws -> Bool {
        try pool.write { db in
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
    public func inFlightCount(keyID: String) throws -> Int {
        try pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM videos WHERE key_id = ? AND status IN ('queued', 'processing')",
                arguments: [keyID]) ?? 0
        }
    }

    /// Output seconds rendered for `keyID`, in all and by UTC day (newest first).
    public func usage(keyID: String) throws -> (total: Double, byDay: [(day: String, seconds: Double, videos: Int)]) {
        try pool.read { db in
            let total =
                try Double.fetchOne(
                    db,
                    sql:
                        "SELECT COALESCE(SUM(output_seconds), 0) FROM videos WHERE key_id = ? AND status = 'completed'",
                    arguments: [keyID]) ?? 0
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT date(finished_at, 'unixepoch') AS day, SUM(output_seconds) AS seconds, COUNT(*) AS videos
                    FROM videos WHERE key_id = ? AND status = 'completed'
                    GROUP BY day ORDER BY day DESC
                    """, arguments: [keyID])
            return (total, rows.map { ($0["day"], $0["seconds"], $0["videos"]) })
        }
    }

    /// A page of `keyID`'s videos, newest first, after the cursor (a video id) if given.
    public func videos(keyID: String, after cursor: String?, limit: Int) throws -> [VideoJob] {
        try pool.read { db in
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

    public func release(_ id: String, owner: String, errorCode: String?, errorMessage: String?) throws {
        try pool.write { db in
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
    public func cancel(_ id: String, keyID: String) throws -> VideoJob? {
        try pool.write { db in
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

    public func deleteVideo(_ id: String, keyID: String) throws -> (VideoJob, deleted: Bool)? {
        try pool.write { db in
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

    public func expiredVideos(finishedBefore cutoff: Date, limit: Int) throws -> [VideoJob] {
        try pool.read { db in
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
    public func processingCount(keyID: String) throws -> Int {
        try pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM videos WHERE key_id = ? AND status = 'processing'", arguments: [keyID])
                ?? 0
        }
    }

    // MARK: rows

    static func key(from row: Row) -> APIKey {
        APIKey(
            id: row["id"], name: row["name"], webhookSecret: row["webhook_secret"], quotaSeconds: row["quota_seconds"],
            concurrency: row["concurrency"], createdAt: Date(timeIntervalSince1970: row["created_at"]))
    }

    static func job(from row: Row) -> VideoJob {
        func date(_ column: String) -> Date? { (row[column] as Double?).map(Date.init(timeIntervalSince1970:)) }
        return VideoJob(
            id: row["id"], keyID: row["key_id"], status: VideoStatus(rawValue: row["status"]) ?? .failed,
            options: row["options"], imageBlob: row["image_blob"], audioBlob: row["audio_blob"],
            webhookURL: row["webhook_url"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
            startedAt: date("started_at"), finishedAt: date("finished_at"), progress: row["progress"],
            attempts: row["attempts"], errorCode: row["error_code"], errorMessage: row["error_message"],
            resultBlob: row["result_blob"], result: row["result"], cancelRequested: row["cancel_requested"])
    }

}

extension SQLiteStore {
    /// Jobs by status (for metrics).
    public func statusCounts() throws -> [VideoStatus: Int] {
        try pool.read { db in
            var out: [VideoStatus: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM videos GROUP BY status") {
                if let status = VideoStatus(rawValue: row["status"]) { out[status] = row["n"] }
            }
            return out
        }
    }
}

extension SQLiteStore {
    /// A job by id whatever its key: only for callers that have checked a capability (a signed
    /// file link) first.
    public func video(_ id: String) throws -> VideoJob? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM videos WHERE id = ?", arguments: [id]).map(Self.job(from:))
        }
    }
}
