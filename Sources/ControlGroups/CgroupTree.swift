import Basics
import ResourceLimits
import Synchronization
import Glibc

/// The gateway's cgroups: `<own cgroup>/kernel-gateway-<pid>/user-<username>/kernel-<id>`, in every v1
/// controller hierarchy or once in the v2 hierarchy. A user's cgroup carries the per-user limits and holds all of
/// their kernels, so more kernels never buy more memory; it is removed with its last kernel.
///
/// Safe from any thread: creation and the per-user bookkeeping run under one lock (cgroupfs calls only, no
/// waiting), so a user's cgroup is never removed while a kernel is being created in it.
public final class CgroupTree: Sendable {
    public let hierarchy: CgroupHierarchy
    /// `<own cgroup>/kernel-gateway-<pid>`.
    public let base: CgroupNode
    /// Kernels per user with a cgroup now.
    private let kernelsPerUser = Mutex<[String: Int]>([:])

    /// Prefix of the gateway's base cgroup names; the rest is the gateway's pid.
    public static let baseNamePrefix = "kernel-gateway-"

    /// Detects the hierarchy below `root`, removes the trees of gateways that are gone (their pid no longer
    /// exists; leftover processes in them are killed), and creates this gateway's base cgroup.
    ///
    /// On v2 the controllers must be enabled for children of the gateway's own cgroup; when that cgroup is not
    /// the root and holds the gateway itself ("no internal processes"), the gateway first moves itself into a
    /// leaf `kernel-gateway-<pid>-self` beside its base (as systemd's `Delegate=yes` expects).
    /// - Throws: `CgroupError` naming the hierarchy, directory or file that is missing or not writable.
    public static func open(root: String = CgroupHierarchy.defaultRoot) throws(CgroupError) -> CgroupTree {
        let selfCgroup: String
        do { selfCgroup = String(decoding: try BoundedFileReader.read("/proc/self/cgroup", maxBytes: 1 << 16), as: UTF8.self) } catch {
            throw CgroupError("cannot read /proc/self/cgroup: \(error)")
        }
        let hierarchy = try CgroupHierarchy.detect(root: root, selfCgroup: selfCgroup, fileExists: CgroupFiles.exists)
        removeStaleTrees(in: hierarchy.own)
        return try CgroupTree(hierarchy: hierarchy, instance: getpid())
    }

    /// Creates the base cgroup of gateway `instance` (a pid) below `hierarchy.own`.
    /// - Throws: `CgroupError` when a directory or control file cannot be written.
    public init(hierarchy: CgroupHierarchy, instance: pid_t) throws(CgroupError) {
        self.hierarchy = hierarchy
        let own = hierarchy.own
        base = own.child(Self.baseNamePrefix + String(instance))
        if hierarchy.version == .v2 {
            do throws(CgroupError) {
                try own.enableControllersForChildren()
            } catch where error.code == EBUSY {
                let leaf = own.child(Self.baseNamePrefix + String(instance) + "-self")
                try leaf.create()
                for file in leaf.procsFiles { try CgroupFiles.write("0", to: file) }
                try own.enableControllersForChildren()
            }
        }
        try base.create()
        if hierarchy.version == .v1, let memory = base.directories[.memory] {
            // Hierarchical accounting (always on in recent kernels, where this write may be refused).
            try? CgroupFiles.write("1", to: memory + "/memory.use_hierarchy")
        }
        do throws(CgroupError) { try base.enableControllersForChildren() } catch {
            base.remove()
            throw error
        }
    }

    /// Whether the controllers `limits` needs are available, as an error naming the first missing one.
    public func check(_ limits: ResourceLimits) throws(CgroupError) {
        let needed: [(Bool, CgroupController)] = [(limits.memoryBytes != nil, .memory), (limits.cpuMillicores != nil, .cpu),
                                                 (limits.pids != nil, .pids)]
        for (wanted, controller) in needed where wanted && !base.has(controller) {
            throw CgroupError("the cgroup \(hierarchy.version.rawValue) controller '\(controller.rawValue)' is not available below \(hierarchy.root)")
        }
    }

    /// The cgroup of user `owner` (not created).
    public func userNode(_ owner: String) -> CgroupNode { base.child("user-" + owner) }

    /// Creates the cgroup of kernel `id` below its owner's (created when needed), writes the owner's limits
    /// (again: a policy reload may have changed them) and the kernel's.
    /// - Throws: `CgroupError`; nothing created stays behind.
    public func prepareKernel(id: String, owner: String, limits: LimitResolution.Resolved) throws(CgroupError) -> KernelCgroup {
        let user = userNode(owner)
        let node = user.child("kernel-" + id)
        let result: Result<Void, CgroupError> = kernelsPerUser.withLock { counts in
            let isNewUser = counts[owner] == nil
            do throws(CgroupError) {
                try user.create()
                try user.enableControllersForChildren()
                try user.apply(limits.user)
                try node.create()
                try node.apply(limits.kernel)
            } catch {
                node.remove()
                if isNewUser { user.remove() }
                return .failure(error)
            }
            counts[owner, default: 0] += 1
            return .success(())
        }
        try result.get()
        return KernelCgroup(kernelID: id, owner: owner, limits: limits, node: node, userNode: user)
    }

    /// Kills what is left in the kernel's cgroup and removes it (retrying while killed processes exit, up to
    /// about two seconds), then the owner's cgroup when this was their last kernel.
    public func release(_ cgroup: KernelCgroup) async {
        for _ in 0..<100 {
            cgroup.node.killAll()
            if cgroup.node.remove() { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        kernelsPerUser.withLock { counts in
            let left = (counts[cgroup.owner] ?? 1) - 1
            counts[cgroup.owner] = left > 0 ? left : nil
            if left <= 0 { cgroup.userNode.remove() }
        }
    }

    /// Removes the whole tree, killing anything still in it (gateway exit, after every kernel was shut down).
    /// Returns true when nothing is left.
    @discardableResult
    public func removeAll() async -> Bool {
        for _ in 0..<50 {
            if base.removeRecursively() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Removes `kernel-gateway-<pid>` trees (and `-self` leaves) of gateways whose pid no longer exists.
    static func removeStaleTrees(in own: CgroupNode) {
        let names = Set(own.uniqueDirectories.flatMap { CgroupFiles.subdirectories($0) })
        for name in names where name.hasPrefix(baseNamePrefix) {
            var rest = name.dropFirst(baseNamePrefix.count)
            if rest.hasSuffix("-self") { rest = rest.dropLast(5) }
            guard let pid = pid_t(rest), pid > 0, kill(pid, 0) != 0, errno == ESRCH else { continue }
            own.child(name).removeRecursively()
        }
    }
}
