import Foundation
import MouthpieceCore

/// Output files are written under a temporary name in the same directory and renamed into place
/// when complete, so that readers never see a half-written file.
enum OutputFile {
    /// Creates the temporary file beside `path`, proving that the directory is writable.
    static func reserve(_ path: String) throws -> String {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw MouthpieceError(
                .outputNotWritable, "The output directory \(directory) does not exist.", field: "output")
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw MouthpieceError(.outputNotWritable, "The output path \(path) is a directory.", field: "output")
        }
        // Renaming over a device or a pipe would replace it with a file (`-o /dev/null` once
        // replaced the system's /dev/null): only files (or links) are written over.
        if let type = (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType,
            type != .typeRegular && type != .typeSymbolicLink
        {
            throw MouthpieceError(
                .outputNotWritable, "The output path \(path) is not a file (a device or a pipe); give a file name.",
                field: "output")
        }
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UInt32.random(in: 0...UInt32.max)).partial").path
        guard FileManager.default.createFile(atPath: temporary, contents: nil) else {
            throw MouthpieceError(.outputNotWritable, "Cannot write to \(directory).", field: "output")
        }
        return temporary
    }

    static func commit(_ temporary: String, to path: String) throws {
        guard rename(temporary, path) == 0 else {
            throw MouthpieceError(.outputNotWritable, "Cannot move the finished file to \(path).", field: "output")
        }
    }

    static func discard(_ temporary: String) { try? FileManager.default.removeItem(atPath: temporary) }
}
