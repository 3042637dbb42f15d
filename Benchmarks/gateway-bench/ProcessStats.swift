import Basics
import Glibc

/// CPU time and memory of a process, from `/proc/PID/stat` and `/proc/PID/status` (Linux).
struct ProcessStats: Sendable {
    /// utime + stime in seconds (the process's own threads; children are not included).
    let cpuSeconds: Double
    /// Resident set size now (VmRSS), KiB.
    let rssKiB: Int
    /// Peak resident set size over the process's life (VmHWM), KiB.
    let hwmKiB: Int

    /// Reads the statistics of `pid`; nil when the process is gone or /proc is unreadable.
    static func read(pid: Int32) -> ProcessStats? {
        guard let stat = readFile("/proc/\(pid)/stat"), let status = readFile("/proc/\(pid)/status") else { return nil }
        // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the name: field 3 (state) is index 0, so utime (field 14) is index 11 and stime index 12.
        guard fields.count > 12, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return ProcessStats(cpuSeconds: (utime + stime) / ticks, rssKiB: statusValue(status, "VmRSS:") ?? 0,
                            hwmKiB: statusValue(status, "VmHWM:") ?? 0)
    }

    /// Our own CPU seconds (user + system) from getrusage, to show how busy the load generator was.
    static func selfCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// The soft and hard `RLIMIT_NOFILE` of `pid` from `/proc/PID/limits` ("unlimited" as Int.max).
    static func openFileLimit(pid: Int32) -> (soft: Int, hard: Int)? {
        guard let text = readFile("/proc/\(pid)/limits") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("Max open files") {
            let words = line.split(separator: " ")
            guard words.count >= 5 else { return nil }
            func value(_ s: Substring) -> Int { s == "unlimited" ? Int.max : (Int(s) ?? 0) }
            return (value(words[3]), value(words[4]))
        }
        return nil
    }

    private static func statusValue(_ status: String, _ key: String) -> Int? {
        for line in status.split(separator: "\n") where line.hasPrefix(key) {
            return Int(line.dropFirst(key.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        }
        return nil
    }

    /// A small /proc file as text, or nil when it cannot be read (the process is gone).
    static func readFile(_ path: String) -> String? {
        guard let bytes = try? BoundedFileReader.read(path, maxBytes: 1 << 20) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Raises our own soft `RLIMIT_NOFILE` to at least `wanted` (up to the hard limit); returns the new soft limit.
@discardableResult
func raiseOpenFileLimit(to wanted: Int) -> Int {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    let target = min(UInt64(wanted), UInt64(limit.rlim_max))
    if UInt64(limit.rlim_cur) < target {
        limit.rlim_cur = rlim_t(target)
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
    return Int(min(UInt64(limit.rlim_cur), UInt64(Int.max)))
}
