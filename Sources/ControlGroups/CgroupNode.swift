import ResourceLimits
import Glibc

/// One cgroup: a directory in the unified hierarchy (v2), or the same relative path in each controller's
/// hierarchy (v1). Knows which file of which version holds what (limits, usage, OOM counters), so the rest of
/// the gateway never names a cgroup file.
///
/// A plain value: the methods do small blocking reads and writes on cgroupfs (in memory, microseconds) and are
/// safe from any thread.
public struct CgroupNode: Sendable, Equatable {
    /// Memory events counted by the kernel for this cgroup.
    public struct MemoryEvents: Sendable, Equatable {
        /// Processes the OOM killer killed here (v1 `memory.oom_control` `oom_kill`, v2 `memory.events` `oom_kill`).
        public var oomKills: UInt64 = 0
        /// Times usage ran into this cgroup's own limit (v1 `memory.failcnt`, v2 `memory.events` `max`).
        public var limitHits: UInt64 = 0

        public init(oomKills: UInt64 = 0, limitHits: UInt64 = 0) {
            self.oomKills = oomKills
            self.limitHits = limitHits
        }
    }

    public let version: CgroupHierarchy.Version
    /// The directory of each available controller (v2: the same directory for all).
    public let directories: [CgroupController: String]
    /// v2: the directory even when no controller is enabled there; v1: unused (nil).
    private let unifiedPath: String?

    public init(version: CgroupHierarchy.Version, directories: [CgroupController: String], path: String? = nil) {
        self.version = version
        self.directories = directories
        self.unifiedPath = version == .v2 ? (path ?? directories.values.first) : nil
    }

    /// The child cgroup `name` (not created).
    public func child(_ name: String) -> CgroupNode {
        CgroupNode(version: version, directories: directories.mapValues { $0 + "/" + name },
                   path: unifiedPath.map { $0 + "/" + name })
    }

    /// Every directory of this cgroup, each once (v1 controllers may share a mount, v2 has one).
    public var uniqueDirectories: [String] {
        var all = Set(directories.values)
        if let unifiedPath { all.insert(unifiedPath) }
        return all.sorted()
    }

    /// The `cgroup.procs` files a process writes itself into to join this cgroup in every hierarchy.
    public var procsFiles: [String] { uniqueDirectories.map { $0 + "/cgroup.procs" } }

    /// Whether `controller` is available here.
    public func has(_ controller: CgroupController) -> Bool { directories[controller] != nil }

    // MARK: - Creating and removing

    /// Creates the directories (existing ones are fine).
    public func create() throws(CgroupError) {
        for directory in uniqueDirectories { try CgroupFiles.makeDirectory(directory) }
    }

    /// v2: enables memory, cpu and pids (those available) for the children of this cgroup; v1: nothing to do.
    /// - Throws: `CgroupError` (EBUSY when processes live in this non-root cgroup: the "no internal processes" rule).
    public func enableControllersForChildren() throws(CgroupError) {
        guard version == .v2, let unifiedPath else { return }
        let wanted = CgroupController.unified.filter(has)
        guard !wanted.isEmpty else { return }
        let enabled = CgroupFiles.readSmall(unifiedPath + "/cgroup.subtree_control")?.split(separator: " ")
            .map { CgroupFiles.trim($0) } ?? []
        let missing = wanted.filter { !enabled.contains($0.rawValue) }
        guard !missing.isEmpty else { return }
        try CgroupFiles.write(missing.map { "+" + $0.rawValue }.joined(separator: " "),
                              to: unifiedPath + "/cgroup.subtree_control")
    }

    /// Removes the directories (a cgroup with live processes or children stays). Returns true when none is left.
    @discardableResult
    public func remove() -> Bool {
        var gone = true
        for directory in uniqueDirectories where rmdir(directory) != 0 && errno != ENOENT { gone = false }
        return gone
    }

    /// Kills every process in this cgroup and below, then removes the cgroups bottom-up. Returns true when
    /// nothing is left. For trees whose owner is gone (a crashed gateway's) and for the gateway's exit.
    @discardableResult
    public func removeRecursively() -> Bool {
        var gone = true
        for directory in uniqueDirectories where !Self.removeDirectoryTree(directory) { gone = false }
        return gone
    }

    private static func removeDirectoryTree(_ directory: String) -> Bool {
        for name in CgroupFiles.subdirectories(directory) { _ = removeDirectoryTree(directory + "/" + name) }
        for pid in CgroupFiles.processIDs(directory + "/cgroup.procs") { kill(pid, SIGKILL) }
        return rmdir(directory) == 0 || errno == ENOENT
    }

    // MARK: - Processes

    /// The processes in this cgroup (not below it).
    public func processIDs() -> [pid_t] {
        var all = Set<pid_t>()
        for file in procsFiles { all.formUnion(CgroupFiles.processIDs(file)) }
        return all.sorted()
    }

    /// Sends SIGKILL to every process in this cgroup: through `cgroup.kill` where v2 has it (atomic, forks
    /// included), else to each listed pid, a few rounds so that processes forked meanwhile are caught. Returns
    /// true when no process is listed any more (killed ones may take a moment to leave the list).
    @discardableResult
    public func killAll() -> Bool {
        if version == .v2, let unifiedPath, CgroupFiles.exists(unifiedPath + "/cgroup.kill") {
            try? CgroupFiles.write("1", to: unifiedPath + "/cgroup.kill")
        }
        for _ in 0..<8 {
            let pids = processIDs()
            if pids.isEmpty { return true }
            for pid in pids { kill(pid, SIGKILL) }
        }
        return processIDs().isEmpty
    }

    // MARK: - Limits

    /// Writes `limits` (a nil field writes "no limit", so a rewrite can also lift one).
    ///
    /// v1: `memory.limit_in_bytes` and `memory.memsw.limit_in_bytes` (memory plus swap, when swap accounting is on),
    /// `cpu.cfs_period_us` / `cpu.cfs_quota_us`, `pids.max`. v2: `memory.max` and `memory.swap.max` (0: no swap, so
    /// the limit means the same as on v1), `cpu.max`, `pids.max`.
    /// - Throws: `CgroupError` naming the file, or the controller that a set limit needs but is not available.
    public func apply(_ limits: ResourceLimits) throws(CgroupError) {
        try applyMemory(limits.memoryBytes)
        try applyCPU(limits.cpuMillicores)
        try applyPids(limits.pids)
    }

    private func directory(for controller: CgroupController, needed: Bool) throws(CgroupError) -> String? {
        if let directory = directories[controller] { return directory }
        guard needed else { return nil }
        throw CgroupError("the cgroup \(version == .v2 ? "v2" : "v1") controller '\(controller.rawValue)' is not available (\(version == .v2 ? "not in cgroup.controllers of the gateway's cgroup" : "not mounted"))")
    }

    private func applyMemory(_ bytes: UInt64?) throws(CgroupError) {
        guard let directory = try directory(for: .memory, needed: bytes != nil) else { return }
        switch version {
        case .v1:
            let value = bytes.map(String.init) ?? "-1"
            let swapFile = directory + "/memory.memsw.limit_in_bytes"
            var files = [directory + "/memory.limit_in_bytes"]
            if CgroupFiles.exists(swapFile) { files.append(swapFile) }
            // memsw must stay >= limit: raising writes the limit first, lowering memsw first.
            do {
                for file in files { try CgroupFiles.write(value, to: file) }
            } catch {
                for file in files.reversed() { try CgroupFiles.write(value, to: file) }
            }
        case .v2:
            try CgroupFiles.write(bytes.map(String.init) ?? "max", to: directory + "/memory.max")
            let swapFile = directory + "/memory.swap.max"
            if CgroupFiles.exists(swapFile) { try CgroupFiles.write(bytes == nil ? "max" : "0", to: swapFile) }
        }
    }

    private func applyCPU(_ millicores: Int?) throws(CgroupError) {
        guard let directory = try directory(for: .cpu, needed: millicores != nil) else { return }
        let period = CPUQuota.periodMicroseconds
        switch version {
        case .v1:
            if millicores != nil { try CgroupFiles.write(String(period), to: directory + "/cpu.cfs_period_us") }
            try CgroupFiles.write(millicores.map { String(CPUQuota.quotaMicroseconds($0)) } ?? "-1",
                                  to: directory + "/cpu.cfs_quota_us")
        case .v2:
            let quota = millicores.map { String(CPUQuota.quotaMicroseconds($0)) } ?? "max"
            try CgroupFiles.write("\(quota) \(period)", to: directory + "/cpu.max")
        }
    }

    private func applyPids(_ pids: Int?) throws(CgroupError) {
        guard let directory = try directory(for: .pids, needed: pids != nil) else { return }
        try CgroupFiles.write(pids.map(String.init) ?? "max", to: directory + "/pids.max")
    }

    // MARK: - Usage and events

    /// Memory, CPU time and processes now: three small reads.
    public func usage() -> CgroupUsage {
        var usage = CgroupUsage()
        switch version {
        case .v1:
            usage.memoryBytes = directories[.memory].flatMap { CgroupFiles.readInteger($0 + "/memory.usage_in_bytes") }
            usage.cpuSeconds = directories[.cpuacct].flatMap { CgroupFiles.readInteger($0 + "/cpuacct.usage") }
                .map { Double($0) / 1e9 }
        case .v2:
            usage.memoryBytes = directories[.memory].flatMap { CgroupFiles.readInteger($0 + "/memory.current") }
            usage.cpuSeconds = directories[.cpu].flatMap { CgroupFiles.readSmall($0 + "/cpu.stat") }
                .flatMap { CgroupFiles.keyedValue($0, key: "usage_usec") }.map { Double($0) / 1e6 }
        }
        usage.pids = directories[.pids].flatMap { CgroupFiles.readInteger($0 + "/pids.current") }
        return usage
    }

    /// The OOM kill and limit-hit counters (zero when the memory controller is not available).
    public func memoryEvents() -> MemoryEvents {
        guard let directory = directories[.memory] else { return MemoryEvents() }
        switch version {
        case .v1:
            let oom = CgroupFiles.readSmall(directory + "/memory.oom_control")
            return MemoryEvents(oomKills: oom.flatMap { CgroupFiles.keyedValue($0, key: "oom_kill") } ?? 0,
                                limitHits: CgroupFiles.readInteger(directory + "/memory.failcnt") ?? 0)
        case .v2:
            let events = CgroupFiles.readSmall(directory + "/memory.events")
            return MemoryEvents(oomKills: events.flatMap { CgroupFiles.keyedValue($0, key: "oom_kill") } ?? 0,
                                limitHits: events.flatMap { CgroupFiles.keyedValue($0, key: "max") } ?? 0)
        }
    }
}
