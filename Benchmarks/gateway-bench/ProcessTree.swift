import Glibc

/// The live descendants of a process (children, their children, …) and their CPU time, from `/proc` (Linux):
/// the kernels a gateway started, with bubblewrap around them in sandbox mode. With `--server-pid` the requests
/// mode reports their CPU over the measurement window, so the kernel side of a transport (TCP or `ipc://`) is
/// measured as CPU per request, which the other load on a shared machine disturbs far less than throughput.
enum ProcessTree {
    /// utime + stime in seconds of every live descendant of `pid` (not `pid` itself), by PID.
    static func descendantCPU(of pid: Int32) -> [Int32: Double] {
        var children: [Int32: [Int32]] = [:]
        var cpu: [Int32: Double] = [:]
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard let directory = opendir("/proc") else { return [:] }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let child = Int32(name), let stat = ProcessStats.readFile("/proc/\(child)/stat"),
                  let close = stat.lastIndex(of: ")")
            else { continue }
            // After the name: state is index 0, ppid index 1, utime (field 14) index 11, stime index 12.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let parent = Int32(fields[1]), let utime = Double(fields[11]),
                  let stime = Double(fields[12])
            else { continue }
            children[parent, default: []].append(child)
            cpu[child] = (utime + stime) / ticks
        }
        var result: [Int32: Double] = [:]
        var pending = children[pid] ?? []
        while let next = pending.popLast() {
            guard result[next] == nil else { continue }
            result[next] = cpu[next]
            pending += children[next] ?? []
        }
        return result
    }

    /// CPU seconds the processes present in both snapshots used between them.
    static func cpuBetween(_ before: [Int32: Double], _ after: [Int32: Double]) -> Double {
        var total = 0.0
        for (pid, end) in after {
            if let start = before[pid], end >= start { total += end - start }
        }
        return total
    }
}
