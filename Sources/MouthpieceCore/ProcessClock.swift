#if canImport(Glibc)
    import Glibc
#endif

/// How long this process has been running, from the kernel's record of its start (1/100 s
/// resolution): for "time to first frame" as a user starting the command would see it.
public enum ProcessClock {
    /// Seconds since the process started; nil where `/proc` is not there.
    public static func age() -> Double? {
        guard let stat = fopen("/proc/self/stat", "r") else { return nil }
        defer { fclose(stat) }
        var buffer = [CChar](repeating: 0, count: 1024)
        guard fgets(&buffer, Int32(buffer.count), stat) != nil else { return nil }
        let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Fields after the command name (in parentheses, which may hold spaces); the start time
        // is field 22 of the whole line, in clock ticks since boot.
        guard let close = line.lastIndex(of: ")") else { return nil }
        let fields = line[line.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]) else { return nil }
        var now = timespec()
        clock_gettime(CLOCK_BOOTTIME, &now)
        let boot = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
        return boot - ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
