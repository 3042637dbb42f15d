import ResourceLimits
import Synchronization
import Glibc

/// The cgroup of one kernel, below its owner's cgroup: what the kernel process joins before exec, where its
/// usage is read, and how a death by the memory limit is recognized.
///
/// Made by `CgroupTree.prepareKernel`, handed back to `CgroupTree.release` when the kernel is gone. Sendable and
/// cheap to call from any thread: the usage is read from cgroupfs on each call (`/api/kernels/{id}`, `/metrics`).
public final class KernelCgroup: Sendable {
    public let kernelID: String
    public let owner: String
    /// The limits written for this kernel (`kernel`) and for all of its owner's kernels (`user`).
    public let limits: LimitResolution.Resolved
    /// The kernel's cgroup.
    public let node: CgroupNode
    /// The owner's cgroup (parent of `node`).
    public let userNode: CgroupNode
    /// The memory counters when the current process started, to tell its OOM kill from an earlier one.
    private let baseline = Mutex(CgroupNode.MemoryEvents())

    init(kernelID: String, owner: String, limits: LimitResolution.Resolved, node: CgroupNode, userNode: CgroupNode) {
        self.kernelID = kernelID
        self.owner = owner
        self.limits = limits
        self.node = node
        self.userNode = userNode
    }

    /// The `cgroup.procs` files the kernel process writes itself into between fork and exec.
    public var procsFiles: [String] { node.procsFiles }

    /// Memory, CPU time and processes of the kernel and everything it started.
    public func usage() -> CgroupUsage { node.usage() }

    /// Call right before a kernel process is spawned.
    public func processStarting() {
        let now = node.memoryEvents()
        baseline.withLock { $0 = now }
    }

    /// Call when the kernel process has ended: kills whatever it left running in the cgroup (processes that left
    /// its process group included) and says whether the memory limit killed it.
    /// - Parameter killed: whether the process died of SIGKILL (directly, or as bubblewrap reports it: exit 137);
    ///   only then can it have been the OOM killer's victim.
    /// - Returns: the reason to report ("out of memory: limit 2 GiB") when the OOM killer struck in this cgroup
    ///   since the process started, else nil.
    public func processEnded(killed: Bool) -> String? {
        node.killAll()
        guard killed else { return nil }
        let before = baseline.withLock { $0 }
        let after = node.memoryEvents()
        guard after.oomKills > before.oomKills else { return nil }
        return Self.outOfMemoryReason(limits: limits, owner: owner, kernelLimitHit: after.limitHits > before.limitHits)
    }

    /// The reason text of an OOM kill: the kernel's own limit when usage ran into it (or it is the only limit),
    /// else the owner's limit for all their kernels, else the machine's memory.
    public static func outOfMemoryReason(limits: LimitResolution.Resolved, owner: String, kernelLimitHit: Bool) -> String {
        if let kernel = limits.kernel.memoryBytes, kernelLimitHit || limits.user.memoryBytes == nil {
            return "out of memory: limit \(MemorySize.format(kernel))"
        }
        if let user = limits.user.memoryBytes {
            return "out of memory: limit \(MemorySize.format(user)) for all of \(owner)'s kernels"
        }
        return "out of memory (the OOM killer chose this kernel)"
    }
}
