import Foundation
import GRDB

/// Portraits and video avatars, each seen only by its key.
extension SQLiteStore {
    // MARK: avatars

    public func addAvatar(_ avatar: Avatar) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO avatars (id, key_id, image_blob, preview_blob, analysis, created_at, consent)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    avatar.id, avatar.keyID, avatar.imageBlob, avatar.previewBlob, avatar.analysis,
                    avatar.createdAt.timeIntervalSince1970, avatar.consent,
                ])
        }
    }

    public func avatar(_ id: String, keyID: String) async throws -> Avatar? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM avatars WHERE id = ? AND key_id = ?", arguments: [id, keyID])
                .map(Self.avatar(from:))
        }
    }

    /// `keyID`'s avatars, newest first.
    public func avatars(keyID: String, limit: Int) async throws -> [Avatar] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM avatars WHERE key_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
                arguments: [keyID, limit]
            ).map(Self.avatar(from:))
        }
    }

    /// Removes the avatar; returns it (so its files can go too), or nil if there was none.
    public func deleteAvatar(_ id: String, keyID: String) async throws -> Avatar? {
        try await pool.write { db in
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
            analysis: row["analysis"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
            consent: row["consent"])
    }
}
