import Crypto
import Foundation
import Hummingbird
import MouthpieceCore
import Store

/// Links to finished videos that work without an API key, as hosted APIs hand out (fal's
/// `video.url`): `/files/{video id}/{token}/{name}.mp4`, where the token is an HMAC of the video id
/// under a secret every node shares (kept in the store). Only who was given the link can fetch the file.
struct FileLinks: Sendable {
    /// The secret's bytes (kept as bytes: `SymmetricKey` is not `Sendable`).
    let secret: [UInt8]
    var key: SymmetricKey { SymmetricKey(data: secret) }

    /// The deployment's secret from the store, made (32 random bytes) by the first node to ask.
    /// A data directory from before the secret moved into the store brings its `links.secret`
    /// file, so that links handed out earlier keep working.
    static func shared(store: any DataStore, legacyFile: String?) async throws -> FileLinks {
        var proposed = StoreRules.randomBytes(32)
        if let legacyFile, let data = FileManager.default.contents(atPath: legacyFile), data.count == 32 {
            proposed = [UInt8](data)
        }
        let stored = try await store.sharedSecret("file-links", proposed: Data(proposed).base64EncodedString())
        guard let bytes = Data(base64Encoded: stored), bytes.count == 32 else {
            throw MouthpieceError(.internalError, "The stored file-link secret is damaged.")
        }
        return FileLinks(secret: [UInt8](bytes))
    }

    func token(_ videoID: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(videoID.utf8), using: key).prefix(16)
            .map { String(format: "%02x", $0) }.joined()
    }

    func path(_ videoID: String) -> String { "/files/\(videoID)/\(token(videoID))/\(videoID).mp4" }

    func isValid(_ token: String, for videoID: String) -> Bool {
        // Compared without an early exit, so timing does not reveal how much of it was right.
        let (a, b) = (Array(token.utf8), Array(self.token(videoID).utf8))
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    func add<Context: RequestContext>(to router: Router<Context>, store: any DataStore, blobs: any BlobStorage) {
        router.get("files/:id/:token/:name") { request, context in
            let id = try context.parameters.require("id")
            let token = try context.parameters.require("token")
            guard isValid(token, for: id), let job = try await store.video(id), job.status == .completed,
                let blob = job.resultBlob
            else {
                throw MouthpieceError(.notFound, "No such file.")
            }
            return try await VideoRoutes.serveVideo(blobs.path(blob), size: blobs.size(blob), request, context)
        }
    }
}
