import Foundation
import PostgresNIO

/// API keys: created with a secret stored only as its hash, found by that hash.
extension PostgresStore {
    // MARK: keys

    public func createKey(name: String, quotaSeconds: Double?, concurrency: Int, plan: String?) async throws -> (
        APIKey, secret: String
    ) {
        let (key, secret) = StoreRules.newKey(
            name: name, quotaSeconds: quotaSeconds, concurrency: concurrency, plan: plan)
        try await client.query(
            """
            INSERT INTO api_keys (id, name, secret_hash, webhook_secret, quota_seconds, concurrency, created_at, plan)
            VALUES (\(key.id), \(key.name), \(StoreRules.hash(secret)), \(key.webhookSecret), \(key.quotaSeconds),
                \(key.concurrency), \(key.createdAt.timeIntervalSince1970), \(key.plan))
            """, logger: logger)
        return (key, secret)
    }

    public func key(secret: String) async throws -> APIKey? {
        try await rows("SELECT * FROM api_keys WHERE secret_hash = \(StoreRules.hash(secret))").first.map {
            try Self.key(from: $0)
        }
    }

    static func key(from row: PostgresRandomAccessRow) throws -> APIKey {
        APIKey(
            id: try row["id"].decode(String.self), name: try row["name"].decode(String.self),
            webhookSecret: try row["webhook_secret"].decode(String.self),
            quotaSeconds: try row["quota_seconds"].decode(Double?.self),
            concurrency: try row["concurrency"].decode(Int.self),
            createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)),
            plan: try row["plan"].decode(String?.self))
    }
}
