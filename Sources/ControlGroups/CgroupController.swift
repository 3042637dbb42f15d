/// The cgroup controllers the gateway uses.
public enum CgroupController: String, Sendable, Hashable, CaseIterable, Comparable {
    /// Memory limit, usage and OOM kills.
    case memory
    /// The CFS quota.
    case cpu
    /// CPU time used (cgroup v1 only: v2 reports it through `cpu.stat` of the cpu controller).
    case cpuacct
    /// Process count limit and usage.
    case pids

    /// The controllers cgroup v2 needs enabled in `cgroup.subtree_control` (cpuacct does not exist there).
    public static let unified: [CgroupController] = [.memory, .cpu, .pids]

    public static func < (a: CgroupController, b: CgroupController) -> Bool { a.rawValue < b.rawValue }
}
