import Foundation
import PostgresNIO

/// Pronunciations, each key its own.
extension PostgresStore {
    public func lexicon(keyID: String) async throws -> [LexiconEntry] {
        try await rows("SELECT word, respelling FROM lexicon WHERE key_id = \(keyID) ORDER BY folded").map {
            LexiconEntry(word: try $0["word"].decode(String.self), respelling: try $0["respelling"].decode(String.self))
        }
    }

    public func setLexiconEntry(_ entry: LexiconEntry, keyID: String) async throws {
        try await client.query(Self.insert(entry, keyID: keyID), logger: logger)
    }

    public func removeLexiconEntry(word: String, keyID: String) async throws -> Bool {
        !(try await rows(
            "DELETE FROM lexicon WHERE key_id = \(keyID) AND folded = \(LexiconEntry.fold(word)) RETURNING word"
        ).isEmpty)
    }

    public func replaceLexicon(_ entries: [LexiconEntry], keyID: String) async throws {
        let logger = logger
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("DELETE FROM lexicon WHERE key_id = \(keyID)", logger: logger)
            for entry in entries { try await connection.query(Self.insert(entry, keyID: keyID), logger: logger) }
        }
    }

    static func insert(_ entry: LexiconEntry, keyID: String) -> PostgresQuery {
        """
        INSERT INTO lexicon (key_id, folded, word, respelling) VALUES (\(keyID), \(entry.folded), \(entry.word), \(entry.respelling))
        ON CONFLICT (key_id, folded) DO UPDATE SET word = excluded.word, respelling = excluded.respelling
        """
    }
}
