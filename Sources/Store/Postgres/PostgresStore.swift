import Foundation
import Logging
import MouthpieceCore
import NIOSSL
import PostgresNIO
import ServiceLifecycle

/// The store for several machines: PostgreSQL through postgres-nio's connection pool.
///
/// Jobs and webhook deliveries are claimed with `FOR UPDATE SKIP LOCKED`, so any number of
/// workers on any machines take different jobs without waiting on each other. Lease times are
/// read from the database server's clock, so machines whose clocks differ still agree on when a
/// lease has run out.
public final class PostgresStore: DataStore {
    /// Who runs the connection pool.
    public enum PoolLifecycle: Sendable {
        /// A task of the store's own, until `close()`: commands and tests.
        case ownTask
        /// The caller's service group runs `poolService`: `mouthpiece serve` and `worker`, so that
        /// the pool starts before and shuts down after every service that uses it (a service
        /// group stops its services in reverse order).
        case serviceGroup
    }

    let client: PostgresClient
    let runner: Task<Void, Never>?
    let target: Target
    let logger: Logger

    /// The connection pool, as a ServiceLifecycle service (with `.serviceGroup`).
    public var poolService: any Service { client }

    /// The database server's clock, in seconds since 1970.
    static let now = "EXTRACT(EPOCH FROM clock_timestamp())::float8"

    /// Connects to `url` (`postgres://user:password@host:port/database?sslmode=...`) and applies
    /// the schema migrations this version needs. Waits up to `wait` seconds for the server. The
    /// migrations (and the settings read at startup) go over a connection of their own, so they
    /// work before the pool runs.
    public init(
        url: String, wait: TimeInterval = 30, logger: Logger = Logger(label: "mouthpiece.store"),
        pool lifecycle: PoolLifecycle = .ownTask
    ) async throws {
        target = try Target(url: url)
        var background = logger
        background.logLevel = .critical
        client = PostgresClient(configuration: try target.poolConfiguration(), backgroundLogger: background)
        self.logger = logger
        let deadline = Date().addingTimeInterval(wait)
        while true {
            do {
                // A plain connection also says why it failed (refused, unknown database, wrong
                // password...), where the pool would only say its circuit breaker tripped.
                _ = try await Self.withOwnConnection(to: target, logger: logger) { connection in
                    try await Self.migrate(connection, logger: logger)
                }
                break
            } catch {
                guard Date() < deadline, Self.isUnavailable(error) else { throw Self.describe(error, url: url) }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        let client = client
        runner = lifecycle == .ownTask ? Task { await client.run() } : nil
    }

    deinit { runner?.cancel() }

    /// Stops the connection pool the store runs itself (`.ownTask`).
    public func close() { runner?.cancel() }

    /// Runs `body` on a connection of its own, outside the pool, closed afterwards.
    func withOwnConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await Self.withOwnConnection(to: target, logger: logger, body)
    }

    static func withOwnConnection<T: Sendable>(
        to target: Target, logger: Logger, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        var background = logger
        background.logLevel = .critical
        let connection = try await PostgresConnection.connect(
            configuration: try target.connectionConfiguration(), id: 0, logger: background)
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

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
        ("v6-consent", ["ALTER TABLE avatars ADD COLUMN consent TEXT"]),
        (
            "v7-plans",
            [
                "ALTER TABLE api_keys ADD COLUMN plan TEXT",
                "ALTER TABLE videos ADD COLUMN priority BIGINT NOT NULL DEFAULT 0",
            ]
        ),
        (
            "v8-lexicon",
            [
                """
                CREATE TABLE lexicon (
                    key_id TEXT NOT NULL, folded TEXT NOT NULL, word TEXT NOT NULL, respelling TEXT NOT NULL,
                    PRIMARY KEY (key_id, folded))
                """
            ]
        ),
    ]

    /// Applies the migrations not yet applied; returns the ones it applied.
    @discardableResult
    public func migrate() async throws -> [String] {
        let logger = logger
        return try await withOwnConnection { connection in try await Self.migrate(connection, logger: logger) }
    }

    static func migrate(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await connection.withTransaction(logger: logger) { connection in
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

    /// Read at startup, before the pool may be running: on a connection of its own.
    public func sharedSecret(_ name: String, proposed: String) async throws -> String {
        let logger = logger
        return try await withOwnConnection { connection in
            try await connection.query(
                "INSERT INTO settings (name, value) VALUES (\(name), \(proposed)) ON CONFLICT (name) DO NOTHING",
                logger: logger)
            var stored: String?
            for try await value in try await connection.query(
                "SELECT value FROM settings WHERE name = \(name)", logger: logger
            ).decode(String.self) {
                stored = value
            }
            return stored ?? proposed
        }
    }

    // MARK: rows

    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        try await client.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
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
}
