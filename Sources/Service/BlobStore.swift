import Foundation
import MouthpieceCore
import Pipeline
import Store

/// Where the service keeps files (uploaded inputs, previews, rendered videos and their captions),
/// by id. Every node of a deployment must see the same blobs: one directory on one machine, or a
/// directory on a shared filesystem (NFS, CephFS...) mounted at the same path everywhere. An
/// object store can take this place later; readers only ever ask for a local path to a blob.
public protocol BlobStorage: Sendable {
    /// A local path to read the blob from.
    func path(_ id: String) -> String
    func put(_ bytes: [UInt8], suffix: String) throws -> String
    /// A fresh id and a path inside the store for a file the caller writes itself, under a
    /// temporary name renamed when complete (as the media writers do).
    func reservePath(suffix: String) -> (id: String, path: String)
    /// Moves a finished file from elsewhere (a worker's scratch directory) into the store under a
    /// new id, with its sidecar files (same name, other extensions: captions) beside it. Readers
    /// see each file whole or not at all, and the sidecars before the file.
    func adopt(_ file: String, sidecars: [String]) throws -> String
    /// A second name for a stored file (no copy), so that each owner can delete its own.
    func link(_ id: String) throws -> String
    func remove(_ id: String)
    func exists(_ id: String) -> Bool
    func size(_ id: String) -> Int
    /// Removes temporary files a process that died while writing them left behind.
    @discardableResult
    func sweepPartials(olderThan age: TimeInterval) -> Int
}

extension BlobStorage {
    public func put(_ bytes: [UInt8]) throws -> String { try put(bytes, suffix: "") }
    @discardableResult
    public func sweepPartials() -> Int { sweepPartials(olderThan: 900) }
}

/// Blobs as files in one directory (local, or shared between machines). Written under a
/// temporary name in the same directory and renamed, so a reader never sees a partial file,
/// on any machine (rename is atomic on NFS too).
public struct BlobStore: BlobStorage {
    public let directory: String

    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    public func path(_ id: String) -> String { directory + "/" + id }

    static func newID(suffix: String) -> String { "blob_" + StoreRules.randomToken(bytes: 12) + suffix }

    public func put(_ bytes: [UInt8], suffix: String) throws -> String {
        let id = Self.newID(suffix: suffix)
        let temporary = path("." + id + ".partial")
        // Errors say what happened, never where: the answer goes to API clients.
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: temporary))
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            let full = (error as? CocoaError)?.code == .fileWriteOutOfSpace || Self.isFull(directory)
            throw full
                ? MouthpieceError(
                    .insufficientStorage, "The server is out of storage space; nothing was stored. Try again later.")
                : MouthpieceError(.internalError, "The upload could not be stored.")
        }
        guard rename(temporary, path(id)) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw MouthpieceError(.internalError, "The upload could not be stored.")
        }
        return id
    }

    public func reservePath(suffix: String) -> (id: String, path: String) {
        let id = Self.newID(suffix: suffix)
        return (id, path(id))
    }

    public func link(_ id: String) throws -> String {
        let suffix = id.firstIndex(of: ".").map { String(id[$0...]) } ?? ""
        let new = Self.newID(suffix: suffix)
        do {
            try FileManager.default.linkItem(atPath: path(id), toPath: path(new))
        } catch {
            throw MouthpieceError(.notFound, "A stored file is missing.")
        }
        return new
    }

    /// Removes `.*.partial` files untouched for `age` seconds (a live writer touches its file all
    /// the time); returns how many.
    @discardableResult
    public func sweepPartials(olderThan age: TimeInterval) -> Int {
        Self.sweep(directory, olderThan: age) { $0.hasPrefix(".") && $0.hasSuffix(".partial") }
    }

    /// Removes the files in `directory` whose names pass `matching` and that nobody has touched
    /// for `age` seconds; returns how many.
    static func sweep(_ directory: String, olderThan age: TimeInterval, matching: (String) -> Bool = { _ in true })
        -> Int
    {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { name in
            let path = directory + "/" + name
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            guard matching(name), let modified = attributes?[.modificationDate] as? Date,
                -modified.timeIntervalSinceNow > age
            else { return false }
            return (try? FileManager.default.removeItem(atPath: path)) != nil
        }.count
    }

    public func adopt(_ file: String, sidecars: [String]) throws -> String {
        let suffix = "." + (file as NSString).pathExtension
        let (id, target) = reservePath(suffix: suffix)
        let stem = (target as NSString).deletingPathExtension
        var moved: [String] = []
        do {
            for sidecar in sidecars where FileManager.default.fileExists(atPath: sidecar) {
                let destination = stem + "." + (sidecar as NSString).pathExtension
                try move(sidecar, to: destination)
                moved.append(destination)
            }
            try move(file, to: target)
        } catch {
            for path in moved { try? FileManager.default.removeItem(atPath: path) }
            throw error
        }
        return id
    }

    /// Renames `source` to `destination`; across filesystems, copies to a temporary name beside
    /// the destination first, then renames.
    func move(_ source: String, to destination: String) throws {
        if rename(source, destination) == 0 { return }
        guard errno == EXDEV else { throw Self.writeError(directory, errno) }
        let temporary =
            (destination as NSString).deletingLastPathComponent + "/."
            + (destination as NSString).lastPathComponent + ".partial"
        do {
            try? FileManager.default.removeItem(atPath: temporary)
            try FileManager.default.copyItem(atPath: source, toPath: temporary)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw MouthpieceError(
                .outputNotWritable,
                "Could not copy a file into the blob store at \(directory): \(error.localizedDescription)")
        }
        guard rename(temporary, destination) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(atPath: temporary)
            throw Self.writeError(directory, code)
        }
        try? FileManager.default.removeItem(atPath: source)
    }

    static func writeError(_ directory: String, _ code: Int32) -> MouthpieceError {
        MouthpieceError(.outputNotWritable, "Could not write to the blob store: \(String(cString: strerror(code))).")
    }

    /// Bytes free for an unprivileged writer on the filesystem holding `path`.
    public static func freeBytes(_ path: String) -> Int64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// Whether the filesystem holding `path` has (almost) no room left.
    static func isFull(_ path: String) -> Bool { (freeBytes(path) ?? .max) < 1 << 20 }

    public func remove(_ id: String) {
        if id.hasSuffix(".mp4") {
            Self.removeVideo(path(id))
        } else {
            try? FileManager.default.removeItem(atPath: path(id))
        }
    }

    /// Removes a video file and the captions written beside it.
    static func removeVideo(_ path: String) {
        let captions = Captions.paths(besides: path)
        for file in [path, captions.srt, captions.vtt] { try? FileManager.default.removeItem(atPath: file) }
    }

    public func exists(_ id: String) -> Bool { FileManager.default.fileExists(atPath: path(id)) }

    public func size(_ id: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path(id)))?[.size] as? Int) ?? 0
    }
}
