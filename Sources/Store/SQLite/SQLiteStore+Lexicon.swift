import Foundation
import GRDB

/// Pronunciations, each key its own.
extension SQLiteStore {
    public func lexicon(keyID: String) async throws -> [LexiconEntry] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT word, respelling FROM lexicon WHERE key_id = ? ORDER BY folded", arguments: [keyID]
            )
            .map { LexiconEntry(word: $0["word"], respelling: $0["respelling"]) }
        }
    }

    public func setLexiconEntry(_ entry: LexiconEntry, keyID: String) async throws {
        try await pool.write { db in try Self.insert(entry, keyID: keyID, db) }
    }

    public func removeLexiconEntry(word: String, keyID: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM lexicon WHERE key_id = ? AND folded = ?", arguments: [keyID, LexiconEntry.fold(word)])
            return db.changesCount > 0
        }
    }

    public func replaceLexicon(_ entries: [LexiconEntry], keyID: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM lexicon WHERE key_id = ?", arguments: [keyID])
            for entry in entries { try Self.insert(entry, keyID: keyID, db) }
        }
    }

    static func insert(_ entry: LexiconEntry, keyID: String, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO lexicon (key_id, folded, word, respelling) VALUES (?, ?, ?, ?)
                ON CONFLICT (key_id, folded) DO UPDATE SET word = excluded.word, respelling = excluded.respelling
                """,
            arguments: [keyID, entry.folded, entry.word, entry.respelling])
    }
}
