import Foundation
import PostgresNIO

/// Portraits and video avatars, each seen only by its key.
extension PostgresStore {
    // MARK: avatars

    public func addAvatar(_ avatar: Avatar) async throws {
        try await client.query(
            """
            INSERT INTO avatars (id, key_id, image_blob, preview_blob, analysis, created_at, consent)
            VALUES (\(avatar.id), \(avatar.keyID), \(avatar.imageBlob), \(avatar.previewBlob), \(avatar.analysis),
                \(avatar.createdAt.timeIntervalSince1970), \(avatar.consent))
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

    static func avatar(from row: PostgresRandomAccessRow) throws -> Avatar {
        Avatar(
            id: try row["id"].decode(String.self), keyID: try row["key_id"].decode(String.self),
            imageBlob: try row["image_blob"].decode(String.self),
            previewBlob: try row["preview_blob"].decode(String.self), analysis: try row["analysis"].decode(String.self),
            createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)),
            consent: try row["consent"].decode(String?.self))
    }
}
