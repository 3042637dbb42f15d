/// What a kernel's cgroup has used, as read on request; a field is nil when its controller is not available.
public struct CgroupUsage: Sendable, Equatable {
    /// Memory charged now (v1 `memory.usage_in_bytes`, v2 `memory.current`), page cache included.
    public var memoryBytes: UInt64?
    /// CPU time consumed since the cgroup was created, all processes together (v1 `cpuacct.usage`, v2 `cpu.stat`
    /// `usage_usec`).
    public var cpuSeconds: Double?
    /// Processes and threads now (`pids.current`).
    public var pids: UInt64?

    public init(memoryBytes: UInt64? = nil, cpuSeconds: Double? = nil, pids: UInt64? = nil) {
        self.memoryBytes = memoryBytes
        self.cpuSeconds = cpuSeconds
        self.pids = pids
    }
}
