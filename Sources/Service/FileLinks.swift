import Crypto
import Foundation
import Hummingbird
import MouthpieceCore
import Store

/// Links to finished videos that work without an API key, as hosted APIs hand out (fal's
/// `video.url`): `/files/{video id}/{expiry}-{token}/{name}.mp4`, where the expiry is a Unix time
/// and the token an HMAC of the video id and the expiry under a secret every node shares (kept in
/// the store). Only who was given the link can fetch the file, and only until it expires; a
/// deleted video's link serves nothing.
struct FileLinks: Sendable {
    /// The secret's bytes (kept as bytes: `SymmetricKey` is not `Sendable`).
    let secret: [UInt8]
    /// Seconds a link works after it is made (rounded up to the hour, so that links made within
    /// one hour are the same link).
    var lifetime: TimeInterval = 7 * 86400
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

    func token(_ videoID: String, expires: Int) -> String {
        HMAC<SHA256>.authenticationCode(for: Data("\(videoID).\(expires)".utf8), using: key).prefix(16)
            .map { String(format: "%02x", $0) }.joined()
    }

    func path(_ videoID: String, now: Date = Date()) -> String {
        let expires = Int((now.timeIntervalSince1970 + lifetime) / 3600).advanced(by: 1) * 3600
        return "/files/\(videoID)/\(expires)-\(token(videoID, expires: expires))/\(videoID).mp4"
    }

    /// Whether `capability` (`{expiry}-{token}`) is this video's and has not expired.
    func isValid(_ capability: String, for videoID: String, now: Date = Date()) -> Bool {
        let parts = capability.split(separator: "-", maxSplits: 1)
        guard parts.count == 2, let expires = Int(parts[0]), Double(expires) > now.timeIntervalSince1970 else {
            return false
        }
        // Compared without an early exit, so timing does not reveal how much of it was right.
        let (a, b) = (Array(parts[1].utf8), Array(token(videoID, expires: expires).utf8))
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
