import Crypto
import Foundation
import Hummingbird
import MouthpieceCore
import Store

/// Links to finished videos that work without an API key, as hosted APIs hand out (fal's
/// `video.url`): `/files/{video id}/{token}/{name}.mp4`, where the token is an HMAC of the video id
/// under a secret kept in the data directory. Only who was given the link can fetch the file.
struct FileLinks: Sendable {
    /// The secret's bytes (kept as bytes: `SymmetricKey` is not `Sendable`).
    let secret: [UInt8]
    var key: SymmetricKey { SymmetricKey(data: secret) }

    /// Reads the secret from `path`, making it (32 random bytes, mode 0600) on first use.
    init(secretPath: String) throws {
        if let data = FileManager.default.contents(atPath: secretPath), data.count == 32 {
            secret = [UInt8](data)
            return
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
        let temporary = secretPath + ".partial"
        guard
            FileManager.default.createFile(
                atPath: temporary, contents: Data(bytes), attributes: [.posixPermissions: 0o600]),
            rename(temporary, secretPath) == 0
        else {
            throw MouthpieceError(.internalError, "Could not write \(secretPath).")
        }
        secret = bytes
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

    func add<Context: RequestContext>(to router: Router<Context>, store: SQLiteStore, blobs: BlobStore) {
        router.get("files/:id/:token/:name") { request, context in
            let id = try context.parameters.require("id")
            let token = try context.parameters.require("token")
            guard isValid(token, for: id), let job = try store.video(id), job.status == .completed,
                let blob = job.resultBlob
            else {
                throw MouthpieceError(.notFound, "No such file.")
            }
            return try await VideoRoutes.serveVideo(blobs.path(blob), size: blobs.size(blob), request, context)
        }
    }
}
