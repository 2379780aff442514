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
        migrator.registerMigration("v6-consent") { db in
            try db.execute(sql: "ALTER TABLE avatars ADD COLUMN consent TEXT")
        }
        migrator.registerMigration("v7-plans") { db in
            try db.execute(
                sql: """
                    ALTER TABLE api_keys ADD COLUMN plan TEXT;
                    ALTER TABLE videos ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
                    """)
        }
        migrator.registerMigration("v8-lexicon") { db in
            try db.execute(
                sql: """
                    CREATE TABLE lexicon (
                        key_id TEXT NOT NULL, folded TEXT NOT NULL, word TEXT NOT NULL, respelling TEXT NOT NULL,
                        PRIMARY KEY (key_id, folded));
                    """)
        }
        return migrator
    }

    public func appliedMigrations() async throws -> [String] {
        try await pool.read { db in try Array(Self.migrator.appliedIdentifiers(db)).sorted() }
    }

    public func sharedSecret(_ name: String, proposed: String) async throws -> String {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO NOTHING",
                arguments: [name, proposed])
            return try String.fetchOne(db, sql: "SELECT value FROM settings WHERE name = ?", arguments: [name])
                ?? proposed
        }
    }
}
