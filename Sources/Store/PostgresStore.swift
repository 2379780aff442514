import Foundation
import Logging
import MouthpieceCore
import NIOSSL
import PostgresNIO

/// The store for several machines: PostgreSQL through postgres-nio's connection pool.
///
/// Jobs and webhook deliveries are claimed with `FOR UPDATE SKIP LOCKED`, so any number of
/// workers on any machines take different jobs without waiting on each other. Lease times are
/// read from the database server's clock, so machines whose clocks differ still agree on when a
/// lease has run out.
public final class PostgresStore: DataStore {
    let client: PostgresClient
    let runner: Task<Void, Never>
    let logger: Logger

    /// The database server's clock, in seconds since 1970.
    static let now = "EXTRACT(EPOCH FROM clock_timestamp())::float8"

    /// Connects to `url` (`postgres://user:password@host:port/database?sslmode=...`) and applies
    /// the schema migrations this version needs. Waits up to `wait` seconds for the server.
    public init(url: String, wait: TimeInterval = 30, logger: Logger = Logger(label: "mouthpiece.store")) async throws {
        let target = try Target(url: url)
        let configuration = try target.poolConfiguration()
        var background = logger
        background.logLevel = .critical
        let client = PostgresClient(configuration: configuration, backgroundLogger: background)
        self.client = client
        runner = Task { await client.run() }
        self.logger = logger
        let deadline = Date().addingTimeInterval(wait)
        while true {
            do {
                // One plain connection first: the pool would only say its circuit breaker tripped,
                // this says why (refused, unknown database, wrong password...).
                let probe = try await PostgresConnection.connect(
                    configuration: try target.connectionConfiguration(), id: 0, logger: background)
                try? await probe.close()
                try await migrate()
                break
            } catch {
                guard Date() < deadline, Self.isUnavailable(error) else {
                    runner.cancel()
                    throw Self.describe(error, url: url)
                }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    deinit { runner.cancel() }

    /// Stops the connection pool.
    public func close() { runner.cancel() }

    // MARK: connection

    /// Where a PostgreSQL URL points, read as libpq reads it: sslmode `disable`, `prefer` (the
    /// default: encrypt when the server offers it, certificate not checked), `require` (encrypt,
    /// not checked), `verify-full` (encrypt, certificate and name checked). `?host=/dir` reaches a
    /// Unix socket in that directory.
    struct Target {
        var host = ""
        var socket: String?
        var port = 5432
        var user = "postgres"
        var password: String?
        var database: String?
        var sslmode = "prefer"

        init(url: String) throws {
            guard let parts = URLComponents(string: url), ["postgres", "postgresql"].contains(parts.scheme ?? "")
            else {
                throw MouthpieceError(
                    .invalidParameter,
                    "The database must be a postgres:// URL, like postgres://user:password@host:5432/mouthpiece.",
                    field: "database")
            }
            let query = Dictionary(
                (parts.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
            user = parts.user ?? query["user"] ?? user
            database = parts.path.count > 1 ? String(parts.path.dropFirst()) : query["dbname"]
            password = parts.password ?? query["password"]
            port = parts.port ?? Int(query["port"] ?? "") ?? port
            sslmode = query["sslmode"] ?? sslmode
            guard ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"].contains(sslmode) else {
                throw MouthpieceError(
                    .invalidParameter, "sslmode must be disable, prefer, require or verify-full, not \(sslmode).",
                    field: "database")
            }
            if let directory = query["host"], directory.hasPrefix("/") {
                socket = directory + "/.s.PGSQL.\(port)"
            } else if let name = parts.host, !name.isEmpty {
                host = name
            } else {
                throw MouthpieceError(.invalidParameter, "The database URL has no host.", field: "database")
            }
        }

        var tlsConfiguration: TLSConfiguration? {
            var unchecked = TLSConfiguration.makeClientConfiguration()
            unchecked.certificateVerification = .none
            switch sslmode {
            case "disable": return nil
            case "verify-ca", "verify-full": return .makeClientConfiguration()
            default: return unchecked
            }
        }

        var required: Bool { !["allow", "prefer"].contains(sslmode) }

        func poolConfiguration() throws -> PostgresClient.Configuration {
            if let socket {
                return .init(unixSocketPath: socket, username: user, password: password, database: database)
            }
            let tls: PostgresClient.Configuration.TLS =
                tlsConfiguration.map { required ? .require($0) : .prefer($0) } ?? .disable
            var configuration = PostgresClient.Configuration(
                host: host, port: port, username: user, password: password, database: database, tls: tls)
            configuration.options.connectTimeout = .seconds(5)
            return configuration
        }

        func connectionConfiguration() throws -> PostgresConnection.Configuration {
            if let socket {
                return .init(unixSocketPath: socket, username: user, password: password, database: database)
            }
            let tls: PostgresConnection.Configuration.TLS =
                try tlsConfiguration.map {
                    let context = try NIOSSLContext(configuration: $0)
                    return required ? .require(context) : .prefer(context)
                } ?? .disable
            return .init(host: host, port: port, username: user, password: password, database: database, tls: tls)
        }
    }

    /// Whether `error` means the server could not be reached (worth trying again).
    public static func isUnavailable(_ error: any Error) -> Bool {
        let error = unwrapped(error)
        guard let error = error as? PSQLError else { return !(error is MouthpieceError) }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            return true
        case .server:
            // 57P01 admin shutdown, 57P03 cannot connect now (starting up), 08xxx connection.
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("57P") || state.hasPrefix("08")
        default:
            return false
        }
    }

    /// The error inside a failed transaction.
    static func unwrapped(_ error: any Error) -> any Error {
        guard let failed = error as? PostgresTransactionError else { return error }
        return failed.closureError ?? failed.beginError ?? failed.commitError ?? error
    }

    /// A readable error (postgres-nio hides details from `description` on purpose; the server's
    /// message is safe to show to whoever runs the command).
    static func describe(_ error: any Error, url: String) -> MouthpieceError {
        let error = unwrapped(error)
        let host = URLComponents(string: url).map { "\($0.host ?? "?"):\($0.port ?? 5432)" } ?? "?"
        if let error = error as? PSQLError, let message = error.serverInfo?[.message] {
            return MouthpieceError(.internalError, "PostgreSQL at \(host): \(message)")
        }
        return MouthpieceError(.internalError, "Cannot reach PostgreSQL at \(host): \(String(reflecting: error))")
    }

    // MARK: migrations

    /// Schema versions, applied in order, each once, in one transaction under an advisory lock
    /// (several nodes starting at once do not race). Same names as the SQLite store's.
    static let migrations: [(String, [String])] = [
        (
            "v1",
            [
                """
                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL, secret_hash TEXT NOT NULL UNIQUE,
                    webhook_secret TEXT NOT NULL, quota_seconds DOUBLE PRECISION, concurrency BIGINT NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL)
                """,
                """
                CREATE TABLE videos (
                    id TEXT PRIMARY KEY, key_id TEXT NOT NULL REFERENCES api_keys(id), status TEXT NOT NULL,
                    options TEXT NOT NULL, image_blob TEXT NOT NULL, audio_blob TEXT NOT NULL, webhook_url TEXT,
                    created_at DOUBLE PRECISION NOT NULL, started_at DOUBLE PRECISION, finished_at DOUBLE PRECISION,
                    progress DOUBLE PRECISION NOT NULL DEFAULT 0, attempts BIGINT NOT NULL DEFAULT 0,
                    lease_owner TEXT, lease_expires DOUBLE PRECISION, error_code TEXT, error_message TEXT,
                    result_blob TEXT, result TEXT, output_seconds DOUBLE PRECISION,
                    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE)
                """,
                "CREATE INDEX videos_by_status ON videos(status, created_at)",
                "CREATE INDEX videos_by_key ON videos(key_id, created_at)",
                """
                CREATE TABLE idempotency (
                    key_id TEXT NOT NULL, idempotency_key TEXT NOT NULL, video_id TEXT NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (key_id, idempotency_key))
                """,
            ]
        ),
        (
            "v2-avatars",
            [
                """
                CREATE TABLE avatars (
                    id TEXT PRIMARY KEY, key_id TEXT NOT NULL REFERENCES api_keys(id), image_blob TEXT NOT NULL,
                    preview_blob TEXT NOT NULL, analysis TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL)
                """,
                "CREATE INDEX avatars_by_key ON avatars(key_id, created_at)",
            ]
        ),
        (
            "v3-webhooks",
            [
                """
                CREATE TABLE webhook_deliveries (
                    id TEXT PRIMARY KEY, key_id TEXT NOT NULL REFERENCES api_keys(id), video_id TEXT NOT NULL,
                    event TEXT NOT NULL, url TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL,
                    attempts BIGINT NOT NULL DEFAULT 0, next_attempt_at DOUBLE PRECISION, lease_owner TEXT,
                    lease_expires DOUBLE PRECISION, created_at DOUBLE PRECISION NOT NULL,
                    delivered_at DOUBLE PRECISION)
                """,
                "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at)",
                "CREATE INDEX webhook_deliveries_by_key ON webhook_deliveries(key_id, created_at)",
                """
                CREATE TABLE webhook_attempts (
                    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id), attempt BIGINT NOT NULL,
                    attempted_at DOUBLE PRECISION NOT NULL, status_code BIGINT, error TEXT,
                    milliseconds DOUBLE PRECISION NOT NULL, PRIMARY KEY (delivery_id, attempt))
                """,
            ]
        ),
        ("v4-scale-out", ["CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)"]),
        (
            "v5-retention",
            [
                "ALTER TABLE videos ADD COLUMN deleted_at DOUBLE PRECISION",
                "CREATE INDEX videos_by_finish ON videos(finished_at) WHERE deleted_at IS NULL",
            ]
        ),
    ]

    /// Applies the migrations not yet applied; returns the ones it applied.
    @discardableResult
    public func migrate() async throws -> [String] {
        try await client.withTransaction(logger: logger) { connection in
            // One number for "mouthpiece schema" so concurrent starts wait for each other.
            try await connection.query("SELECT pg_advisory_xact_lock(7146354901)", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)
                """, logger: logger)
            var applied = Set<String>()
            for try await version in try await connection.query(
                "SELECT version FROM schema_migrations", logger: logger
            ).decode(String.self) {
                applied.insert(version)
            }
            var new: [String] = []
            for (version, statements) in Self.migrations where !applied.contains(version) {
                for statement in statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (\(version), \(unescaped: Self.now))",
                    logger: logger)
                new.append(version)
            }
            return new
        }
    }

    public func appliedMigrations() async throws -> [String] {
        try await strings("SELECT version FROM schema_migrations ORDER BY version")
    }

    public func sharedSecret(_ name: String, proposed: String) async throws -> String {
        try await client.query(
            "INSERT INTO settings (name, value) VALUES (\(name), \(proposed)) ON CONFLICT (name) DO NOTHING",
            logger: logger)
        return try await strings("SELECT value FROM settings WHERE name = \(name)").first ?? proposed
    }

    // MARK: keys

    public func createKey(name: String, quotaSeconds: Double?, concurrency: Int) async throws -> (
        APIKey, secret: String
    ) {
        let (key, secret) = StoreRules.newKey(name: name, quotaSeconds: quotaSeconds, concurrency: concurrency)
        try await client.query(
            """
            INSERT INTO api_keys (id, name, secret_hash, webhook_secret, quota_seconds, concurrency, created_at)
            VALUES (\(key.id), \(key.name), \(StoreRules.hash(secret)), \(key.webhookSecret), \(key.quotaSeconds),
                \(key.concurrency), \(key.createdAt.timeIntervalSince1970))
            """, logger: logger)
        return (key, secret)
    }

    public func key(secret: String) async throws -> APIKey? {
        try await rows("SELECT * FROM api_keys WHERE secret_hash = \(StoreRules.hash(secret))").first.map {
            try Self.key(from: $0)
        }
    }

    public func webhookSecret(keyID: String) async throws -> String? {
        try await strings("SELECT webhook_secret FROM api_keys WHERE id = \(keyID)").first
    }

    // MARK: avatars

    public func addAvatar(_ avatar: Avatar) async throws {
        try await client.query(
            """
            INSERT INTO avatars (id, key_id, image_blob, preview_blob, analysis, created_at)
            VALUES (\(avatar.id), \(avatar.keyID), \(avatar.imageBlob), \(avatar.previewBlob), \(avatar.analysis),
                \(avatar.createdAt.timeIntervalSince1970))
            """, logger: logger)
    }

    public func avatar(_ id: String, keyID: String) async throws -> Avatar? {
        try await rows("SELECT * FROM avatars WHERE id = \(id) AND key_id = \(keyID)").first.map(Self.avatar(from:))
    }

    public func avatars(keyID: String, limit: Int) async throws -> [Avatar] {
        try await rows(
            "SELECT * FROM avatars WHERE key_id = \(keyID) ORDER BY created_at DESC, id DESC LIMIT \(limit)"
        ).map(Self.avatar(from:))
    }

    public func deleteAvatar(_ id: String, keyID: String) async throws -> Avatar? {
        try await rows("DELETE FROM avatars WHERE id = \(id) AND key_id = \(keyID) RETURNING *").first.map(
            Self.avatar(from:))
    }

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
                INSERT INTO videos (id, key_id, status, options, image_blob, audio_blob, webhook_url, created_at)
                VALUES (\(job.id), \(job.keyID), \(job.status.rawValue), \(job.options), \(job.imageBlob),
                    \(job.audioBlob), \(job.webhookURL), \(job.createdAt.timeIntervalSince1970))
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
        // A job whose worker died after its cancel was asked for ends canceled, never rendered again.
        _ = try await rows(
            """
            UPDATE videos SET status = 'canceled', finished_at = \(unescaped: Self.now), error_code = 'canceled',
                error_message = 'Canceled.', lease_owner = NULL, lease_expires = NULL
            WHERE status = 'processing' AND lease_expires < \(unescaped: Self.now) AND cancel_requested
            RETURNING id
            """)
        return try await jobs(
            """
            UPDATE videos SET
                error_code = CASE WHEN status = 'processing' THEN \(StoreRules.workerLostCode) ELSE error_code END,
                error_message = CASE WHEN status = 'processing' THEN \(StoreRules.workerLostMessage) ELSE error_message END,
                status = 'processing', lease_owner = \(owner), lease_expires = \(unescaped: Self.now) + \(lease),
                started_at = COALESCE(started_at, \(unescaped: Self.now)), attempts = attempts + 1, progress = 0
            WHERE id = (
                SELECT id FROM videos
                WHERE status = 'queued' OR (status = 'processing' AND lease_expires < \(unescaped: Self.now))
                ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING *
            """
        ).first
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

    // MARK: rows

    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        try await client.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
    }

    func jobs(_ query: PostgresQuery) async throws -> [VideoJob] {
        try await rows(query).map(Self.job(from:))
    }

    func strings(_ query: PostgresQuery) async throws -> [String] {
        var out: [String] = []
        for try await value in try await client.query(query, logger: logger).decode(String.self) { out.append(value) }
        return out
    }

    func count(_ query: PostgresQuery) async throws -> Int {
        var out = 0
        for try await value in try await client.query(query, logger: logger).decode(Int.self) { out = value }
        return out
    }

    static func date(_ row: PostgresRandomAccessRow, _ column: String) throws -> Date? {
        try row[column].decode(Double?.self).map(Date.init(timeIntervalSince1970:))
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
            cancelRequested: try row["cancel_requested"].decode(Bool.self))
    }

    static func key(from row: PostgresRandomAccessRow) throws -> APIKey {
        APIKey(
            id: try row["id"].decode(String.self), name: try row["name"].decode(String.self),
            webhookSecret: try row["webhook_secret"].decode(String.self),
            quotaSeconds: try row["quota_seconds"].decode(Double?.self),
            concurrency: try row["concurrency"].decode(Int.self),
            createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)))
    }

    static func avatar(from row: PostgresRandomAccessRow) throws -> Avatar {
        Avatar(
            id: try row["id"].decode(String.self), keyID: try row["key_id"].decode(String.self),
            imageBlob: try row["image_blob"].decode(String.self),
            previewBlob: try row["preview_blob"].decode(String.self), analysis: try row["analysis"].decode(String.self),
            createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)))
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
