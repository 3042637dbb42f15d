/// Limits on what one kernel, or all of one user's kernels together, may use of the machine: memory, CPU time
/// (as a CFS quota) and processes. A nil field is "no limit".
///
/// Pure value; where it comes from (options, kernelspec, policy, request) and how it is combined is
/// `LimitResolution`; how it is enforced (cgroups) is the `ControlGroups` module.
public struct ResourceLimits: Sendable, Hashable, CustomStringConvertible {
    /// Most memory in bytes (resident plus swap where the hierarchy counts swap).
    public var memoryBytes: UInt64?
    /// CPU time per wall-clock time, in thousandths of a core (1500 = 1.5 cores).
    public var cpuMillicores: Int?
    /// Most processes and threads at once.
    public var pids: Int?

    /// Creates limits; every field defaults to "no limit".
    public init(memoryBytes: UInt64? = nil, cpuMillicores: Int? = nil, pids: Int? = nil) {
        self.memoryBytes = memoryBytes
        self.cpuMillicores = cpuMillicores
        self.pids = pids
    }

    /// No limit at all.
    public static let none = ResourceLimits()

    /// True when no field is set.
    public var isEmpty: Bool { memoryBytes == nil && cpuMillicores == nil && pids == nil }

    /// Each field the smaller of the two (a nil field takes the other's value): the tighter of two limits.
    public func capped(by other: ResourceLimits) -> ResourceLimits {
        ResourceLimits(memoryBytes: Self.tighter(memoryBytes, other.memoryBytes),
                       cpuMillicores: Self.tighter(cpuMillicores, other.cpuMillicores),
                       pids: Self.tighter(pids, other.pids))
    }

    /// Each field the larger of the two, nil ("no limit") winning: the most generous of two limits, as for a user
    /// holding several roles.
    public func loosened(by other: ResourceLimits) -> ResourceLimits {
        ResourceLimits(memoryBytes: Self.looser(memoryBytes, other.memoryBytes),
                       cpuMillicores: Self.looser(cpuMillicores, other.cpuMillicores),
                       pids: Self.looser(pids, other.pids))
    }

    /// Each field of `self`, or `fallback`'s where `self` has none.
    public func overriding(_ fallback: ResourceLimits) -> ResourceLimits {
        ResourceLimits(memoryBytes: memoryBytes ?? fallback.memoryBytes,
                       cpuMillicores: cpuMillicores ?? fallback.cpuMillicores, pids: pids ?? fallback.pids)
    }

    /// "memory 2 GiB, cpu 1.5 cores, pids 256", or "none".
    public var description: String {
        var parts: [String] = []
        if let memoryBytes { parts.append("memory \(MemorySize.format(memoryBytes))") }
        if let cpuMillicores { parts.append("cpu \(CPUQuota.format(cpuMillicores))") }
        if let pids { parts.append("pids \(pids)") }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }

    static func tighter<T: Comparable>(_ a: T?, _ b: T?) -> T? {
        guard let a else { return b }
        guard let b else { return a }
        return min(a, b)
    }

    static func looser<T: Comparable>(_ a: T?, _ b: T?) -> T? {
        guard let a, let b else { return nil }
        return max(a, b)
    }
}
