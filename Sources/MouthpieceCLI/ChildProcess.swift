import Foundation
import MouthpieceCore

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a program to completion and reports its wall and CPU time and peak memory (from `wait4`).
struct ChildProcess {
    struct Result {
        let status: Int32
        let seconds: Double
        /// Peak resident set size in MiB.
        let peakMiB: Double
        /// CPU time, user and system, of the process and the threads it ran.
        let cpuSeconds: Double
    }

    /// Runs `path` with `arguments`; stdout goes to `stdoutPath` (or nowhere), stderr nowhere.
    static func run(_ path: String, _ arguments: [String], stdoutPath: String? = nil) throws -> Result {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // argv strings are strdup'ed for the call and freed after it.
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let started = ContinuousClock.now
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard spawned == 0 else { throw CocoaError(.executableNotLoadable) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let seconds = (ContinuousClock.now - started).inSeconds
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let cpu =
            Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
        return Result(status: exit, seconds: seconds, peakMiB: Double(usage.ru_maxrss) / 1024, cpuSeconds: cpu)
    }
}
