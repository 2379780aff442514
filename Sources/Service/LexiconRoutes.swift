import Foundation
import Hummingbird
import MouthpieceCore
import Speech
import Store

/// `/v1/lexicon`: the key's pronunciations, word -> respelling ("Nguyen" -> "win"), which every
/// voice says in that key's scripts (videos, compositions, live sessions) while words and captions
/// keep the word as written. Each key sees and changes only its own.
struct LexiconRoutes {
    let store: any DataStore

    struct Entry: Codable, Sendable {
        var word: String
        var respelling: String
    }

    struct Replacement: Decodable, Sendable {
        var entries: [Entry]
    }

    struct OneEntry: Decodable, Sendable {
        var respelling: String
    }

    func add(to group: RouterGroup<APIContext>) {
        group.get("lexicon") { _, context in try await resource(context.requireKey().id) }
        group.put("lexicon") { request, context in
            let key = try context.requireKey()
            let body = try await request.decode(as: Replacement.self, context: context)
            let entries = body.entries.map { LexiconEntry(word: $0.word, respelling: $0.respelling) }
            try Self.check(entries)
            try await store.replaceLexicon(entries, keyID: key.id)
            return try await resource(key.id)
        }
        group.put("lexicon/:word") { request, context in
            let key = try context.requireKey()
            let word = try Self.word(context)
            let body = try await request.decode(as: OneEntry.self, context: context)
            var entries = try await store.lexicon(keyID: key.id)
            let entry = LexiconEntry(word: word, respelling: body.respelling)
            entries.removeAll { $0.folded == entry.folded }
            try Self.check(entries + [entry])
            try await store.setLexiconEntry(entry, keyID: key.id)
            return try await resource(key.id)
        }
        group.delete("lexicon/:word") { _, context in
            let key = try context.requireKey()
            let word = try Self.word(context)
            guard try await store.removeLexiconEntry(word: word, keyID: key.id) else {
                throw MouthpieceError(.notFound, "The lexicon has no entry for \"\(word.prefix(100))\".", field: "word")
            }
            return Response(status: .noContent)
        }
    }

    func resource(_ keyID: String) async throws -> LexiconResource {
        LexiconResource(
            entries: try await store.lexicon(keyID: keyID).map { .init(word: $0.word, respelling: $0.respelling) })
    }

    /// The path's word, percent-decoded ("M%C3%BCller" is "Müller").
    static func word(_ context: APIContext) throws -> String {
        let raw = try context.parameters.require("word")
        return raw.removingPercentEncoding ?? raw
    }

    /// The limits `Script` holds a lexicon to (entries, lengths, no markup), and one entry per word.
    static func check(_ entries: [LexiconEntry]) throws {
        let folded = entries.map(\.folded)
        if let twice = folded.first(where: { word in folded.filter { $0 == word }.count > 1 }) {
            throw MouthpieceError(
                .invalidParameter, "\"\(twice.prefix(100))\" is in the lexicon twice.", field: "entries")
        }
        do {
            try Script.validate(
                lexicon: Dictionary(entries.map { ($0.word, $0.respelling) }, uniquingKeysWith: { a, _ in a }))
        } catch let error as MouthpieceError {
            throw MouthpieceError(error.code, error.message, field: "entries")
        }
    }
}

/// A key's lexicon as `/v1/lexicon` shows it.
struct LexiconResource: ResponseEncodable, Sendable {
    var object = "lexicon"
    var entries: [LexiconRoutes.Entry]
}
