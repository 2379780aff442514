import Foundation
import MouthpieceCore
import Store

/// Files by id under a directory: inputs, outputs. Written under a temporary name and renamed, so
/// a reader never sees a partial file.
public struct BlobStore: Sendable {
    public let directory: String

    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    public func path(_ id: String) -> String { directory + "/" + id }

    /// Stores `bytes` under a new id with `suffix` (".png", ".mp4"...), returns the id.
    public func put(_ bytes: [UInt8], suffix: String = "") throws -> String {
        let id = "blob_" + SQLiteStore.randomToken(bytes: 12) + suffix
        let temporary = path("." + id + ".partial")
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else {
            throw MouthpieceError(.internalError, "The blob store at \(directory) is not writable.")
        }
        guard rename(temporary, path(id)) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw MouthpieceError(.internalError, "The blob store at \(directory) is not writable.")
        }
        return id
    }

    /// A fresh path for a file a worker will write and then `adopt`.
    public func reservePath(suffix: String) -> (id: String, path: String) {
        let id = "blob_" + SQLiteStore.randomToken(bytes: 12) + suffix
        return (id, path(id))
    }

    /// A second name for a stored file (a hard link: no copy), so that each owner can delete its own.
    public func link(_ id: String) throws -> String {
        let suffix = id.firstIndex(of: ".").map { String(id[$0...]) } ?? ""
        let new = "blob_" + SQLiteStore.randomToken(bytes: 12) + suffix
        do {
            try FileManager.default.linkItem(atPath: path(id), toPath: path(new))
        } catch {
            throw MouthpieceError(.notFound, "A stored file is missing.")
        }
        return new
    }

    /// Removes temporary files (`.*.partial`) left by a process that died while writing them and
    /// untouched for `age` seconds (a live writer touches its file all the time); returns how many.
    @discardableResult
    public func sweepPartials(olderThan age: TimeInterval = 900) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var removed = 0
        for name in names where name.hasPrefix(".") && name.hasSuffix(".partial") {
            let attributes = try? FileManager.default.attributesOfItem(atPath: path(name))
            guard let modified = attributes?[.modificationDate] as? Date, -modified.timeIntervalSinceNow > age
            else { continue }
            if (try? FileManager.default.removeItem(atPath: path(name))) != nil { removed += 1 }
        }
        return removed
    }

    public func remove(_ id: String) { try? FileManager.default.removeItem(atPath: path(id)) }

    public func exists(_ id: String) -> Bool { FileManager.default.fileExists(atPath: path(id)) }

    public func size(_ id: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path(id)))?[.size] as? Int) ?? 0
    }
}
