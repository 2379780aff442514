import Foundation
import Media
import MouthpieceCore
import XCTest

/// Paths and scratch space for tests: the shared fixtures, the sample portrait, temp directories.
public enum TestFiles {
    /// The package root, found from this file's place in it.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A portrait from `../shared/fixtures` (or `MOUTHPIECE_FIXTURES`).
    public static func fixture(_ name: String) throws -> String {
        let directory =
            ProcessInfo.processInfo.environment["MOUTHPIECE_FIXTURES"]
            ?? packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures").path
        let path = directory + "/" + name
        guard FileManager.default.fileExists(atPath: path) else {
            throw MouthpieceError(.inputNotFound, "Fixture \(path) is missing: check out ../shared beside the repo.")
        }
        return path
    }

    /// A loopback TCP port nobody listens on now, as the kernel hands it out (a socket bound to
    /// port 0, then closed): unlike a random pick, never a port another server or an outgoing
    /// connection holds.
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return Int.random(in: 20_000...30_000) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard bound else { return Int.random(in: 20_000...30_000) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The sample portrait that `scripts/setup.sh` fetches.
    public static func samplePortrait() throws -> String {
        let path = packageRoot.appendingPathComponent("samples/astronaut.png").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw MouthpieceError(.inputNotFound, "samples/astronaut.png is missing: run scripts/setup.sh first.")
        }
        return path
    }

    /// The `mouthpiece` binary built with the tests: beside the test bundle, or in .build/debug.
    public static var mouthpieceBinary: String {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [directory, directory.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("mouthpiece").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return packageRoot.appendingPathComponent(".build/debug/mouthpiece").path
    }

    /// A fresh empty directory, removed when the test ends.
    public static func scratchDirectory(for test: XCTestCase) throws -> String {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("mouthpiece-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    /// Runs a program to completion and returns its exit status and output.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String]) throws -> (
        status: Int32, stdout: String, stderr: String
    ) {
        // Output goes to files, not pipes: a program that leaves a daemon behind (a database
        // server) must not keep the reader waiting for an end of file that never comes.
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("mouthpiece-run-\(UUID().uuidString)")
        let (outPath, errPath) = (base.path + ".out", base.path + ".err")
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let (out, err) = (FileHandle(forWritingAtPath: outPath), FileHandle(forWritingAtPath: errPath))
        process.standardOutput = out
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        try? out?.close()
        try? err?.close()
        return (
            process.terminationStatus,
            String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self),
            String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self)
        )
    }

    /// The `ffmpeg` command-line tool, used only to make test inputs in other formats.
    public static func ffmpeg(_ arguments: [String]) throws {
        let result = try run("/usr/bin/ffmpeg", ["-v", "error", "-y"] + arguments)
        guard result.status == 0 else {
            throw MouthpieceError(.internalError, "ffmpeg \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        }
    }
}

/// `XCTUnwrap` for values computed with `await` (XCTest's assertions take autoclosures, which
/// cannot await).
public func unwrap<T>(_ value: T?, _ message: String = "", file: StaticString = #filePath, line: UInt = #line) throws
    -> T
{
    guard let value else {
        XCTFail("unexpected nil \(message)", file: file, line: line)
        throw MouthpieceError(.internalError, "unexpected nil \(message)")
    }
    return value
}

extension Process {
    /// Kills a helper process (a Python server, a receiver) and waits for it. `terminate()` is
    /// not enough: a child started from a test inherits the test thread's blocked signals, SIGTERM
    /// among them, so it never sees a SIGTERM, outlives the test run and, holding the test
    /// runner's output, keeps `swift test` waiting for ever.
    public func stop() {
        guard isRunning else { return }
        kill(processIdentifier, SIGKILL)
        waitUntilExit()
    }
}
