import Foundation
import MouthpieceCore

/// A throwaway PostgreSQL cluster (`scripts/pg-throwaway.sh`): initdb in a temporary directory,
/// a server on a loopback port, deleted at `stop()`.
public final class PostgresCluster: @unchecked Sendable {
    public let directory: String
    public let port: Int
    /// The admin database's URL.
    public let url: String

    static var script: String { TestFiles.packageRoot.appendingPathComponent("scripts/pg-throwaway.sh").path }

    public init() throws {
        directory = "/tmp/mouthpiece-pg-\(UUID().uuidString.prefix(8))"
        var started: (Int, String)?
        var lastError = ""
        for _ in 0..<5 where started == nil {
            let port = TestFiles.freePort()
            let result = try TestFiles.run("/bin/bash", [Self.script, "start", directory, String(port)])
            if result.status == 0 {
                started = (port, result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            } else {
                lastError = result.stderr
                _ = try? TestFiles.run("/bin/bash", [Self.script, "stop", directory])
            }
        }
        guard let (port, url) = started else {
            throw MouthpieceError(.internalError, "Could not start a PostgreSQL cluster: \(lastError)")
        }
        self.port = port
        self.url = url
    }

    /// A fast restart: every connection is cut, the server is back when this returns.
    public func restart() throws {
        let result = try TestFiles.run("/bin/bash", [Self.script, "restart", directory])
        guard result.status == 0 else { throw MouthpieceError(.internalError, "restart failed: \(result.stderr)") }
    }

    public func stop() { _ = try? TestFiles.run("/bin/bash", [Self.script, "stop", directory]) }

    /// A new empty database in this cluster; its URL.
    public func freshDatabase() throws -> String {
        try TestPostgres.createDatabase(adminURL: url)
    }
}

/// The PostgreSQL the tests use: `MOUTHPIECE_TEST_DATABASE` (an admin URL; `scripts/test.sh`
/// starts a cluster and sets it), or a cluster of this test process's own, stopped at exit.
public enum TestPostgres {
    nonisolated(unsafe) static var own: PostgresCluster?
    static let lock = NSLock()

    /// An admin URL (a role that may create databases).
    public static func adminURL() throws -> String {
        if let url = ProcessInfo.processInfo.environment["MOUTHPIECE_TEST_DATABASE"], !url.isEmpty { return url }
        return try lock.withLock {
            if let own { return own.url }
            let cluster = try PostgresCluster()
            own = cluster
            atexit { TestPostgres.own?.stop() }
            return cluster.url
        }
    }

    /// A new empty database; its URL.
    public static func freshDatabase() throws -> String { try createDatabase(adminURL: try adminURL()) }

    static func createDatabase(adminURL: String) throws -> String {
        let name = "t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        let result = try TestFiles.run("/usr/bin/psql", [adminURL, "-qAtc", "CREATE DATABASE \(name)"])
        guard result.status == 0 else {
            throw MouthpieceError(.internalError, "CREATE DATABASE failed: \(result.stderr)")
        }
        guard var parts = URLComponents(string: adminURL) else {
            throw MouthpieceError(.internalError, "Bad admin URL \(adminURL)")
        }
        parts.path = "/" + name
        return parts.string ?? adminURL
    }
}
