import Foundation
import GRDB

/// API keys: created with a secret stored only as its hash, found by that hash.
extension SQLiteStore {
    // MARK: keys

    /// Creates a key; returns it with its secret, which is shown once and stored only as a hash.
    public func createKey(name: String, quotaSeconds: Double?, concurrency: Int, plan: String?) async throws -> (
        APIKey, secret: String
    ) {
        let (key, secret) = StoreRules.newKey(
            name: name, quotaSeconds: quotaSeconds, concurrency: concurrency, plan: plan)
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO api_keys (id, name, secret_hash, webhook_secret, quota_seconds, concurrency, created_at, plan)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    key.id, key.name, StoreRules.hash(secret), key.webhookSecret, key.quotaSeconds, key.concurrency,
                    key.createdAt.timeIntervalSince1970, key.plan,
                ])
        }
        return (key, secret)
    }

    /// The key whose secret this is, or nil.
    public func key(secret: String) async throws -> APIKey? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM api_keys WHERE secret_hash = ?", arguments: [StoreRules.hash(secret)]
            )
            .map(Self.key(from:))
        }
    }

    static func key(from row: Row) -> APIKey {
        APIKey(
            id: row["id"], name: row["name"], webhookSecret: row["webhook_secret"], quotaSeconds: row["quota_seconds"],
            concurrency: row["concurrency"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
            plan: row["plan"])
    }
}
