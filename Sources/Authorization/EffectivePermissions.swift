import ResourceLimits

/// The union of an identity's roles, resolved once so repeated decisions need no dictionary lookups.
///
/// Obtain it from `Policy.permissions(for:)`. Cheap to keep per connection; recompute it when the policy
/// or the user's roles change.
public struct EffectivePermissions: Sendable, Hashable {
    /// The caller's username (ownership and grants are matched against it).
    public let username: String
    /// Role names that the policy knew; unknown names are dropped (they grant nothing).
    public let knownRoles: [String]
    /// Role names the policy did not know, kept so denials can say why.
    public let unknownRoles: [String]
    /// Access the caller has to every kernel regardless of ownership.
    public let allKernels: AccessLevel
    /// Kernelspec patterns the caller may start kernels from (from roles that may write kernels).
    public let kernelspecs: [KernelspecPattern]
    /// Most kernels the caller may own; nil means unlimited. The most generous role wins.
    public let maxKernels: Int?
    /// The most one of the caller's kernels may use: per field the most generous of the roles that may start
    /// kernels (a role without a ceiling for a field lifts it).
    public let kernelLimits: ResourceLimits
    /// The most all of the caller's kernels together may use, combined the same way.
    public let userLimits: ResourceLimits
    // Indexed by `ResourceType` position in `allCases`; fixed size, so lookups never hash.
    private let actionMasks: [ActionSet]

    /// Resolves `roleNames` against `roles`, taking the union of permissions and the most generous limits.
    public init(username: String, roleNames: [String], roles: [String: Role]) {
        self.username = username
        var masks = [ActionSet](repeating: [], count: ResourceType.allCases.count)
        var all = AccessLevel.none
        var specs: [KernelspecPattern] = []
        var limit: Int? = 0
        var kernelLimits = ResourceLimits.none, userLimits = ResourceLimits.none
        var sawStarter = false
        var known: [String] = []
        var unknown: [String] = []
        for name in roleNames {
            guard let role = roles[name] else {
                unknown.append(name)
                continue
            }
            known.append(name)
            for (i, type) in ResourceType.allCases.enumerated() { masks[i].formUnion(role.actions(on: type)) }
            all = max(all, role.allKernels)
            if role.actions(on: .kernels).allows(.write) {
                for p in role.kernelspecs where !specs.contains(p) { specs.append(p) }
                if !sawStarter {
                    limit = role.maxKernels
                    kernelLimits = role.kernelLimits
                    userLimits = role.userLimits
                    sawStarter = true
                } else {
                    if let current = limit { limit = role.maxKernels.map { max($0, current) } }
                    kernelLimits = kernelLimits.loosened(by: role.kernelLimits)
                    userLimits = userLimits.loosened(by: role.userLimits)
                }
            }
        }
        self.knownRoles = known
        self.unknownRoles = unknown
        self.actionMasks = masks
        self.allKernels = all
        self.kernelspecs = specs
        self.maxKernels = sawStarter ? limit : 0
        self.kernelLimits = kernelLimits
        self.userLimits = userLimits
    }

    /// The actions the caller's roles allow on `type`.
    @inlinable public func actions(on type: ResourceType) -> ActionSet { actionMask(type) }

    @usableFromInline func actionMask(_ type: ResourceType) -> ActionSet {
        switch type {
        case .kernels: actionMasks[0]
        case .kernelspecs: actionMasks[1]
        case .sessions: actionMasks[2]
        case .api: actionMasks[3]
        case .metrics: actionMasks[4]
        }
    }

    /// Whether the caller may start kernels in the share of the gateway-wide limit kept for admins (the gateway's
    /// `--admin-reserved-kernels`): true for callers whose roles give `owner` on every kernel, as the built-in
    /// `admin` role does.
    public var mayUseKernelReserve: Bool { allKernels == .owner }

    /// Whether the caller may start a kernel from the kernelspec `name`.
    public func allowsKernelspec(_ name: String) -> Bool { kernelspecs.contains { $0.matches(name) } }

    /// The caller's raw level on a kernel from ownership, grants and role-wide access, before role caps:
    /// the maximum of `allKernels`, `owner` if they own it, and their grant.
    public func rawLevel(on kernel: KernelAccess) -> AccessLevel {
        if kernel.owner == username { return .owner }
        var level = allKernels
        if let grant = kernel.grant(for: username), grant.level > level { level = grant.level }
        return level
    }

    /// The level the caller can actually use on a kernel: the raw level capped by what the roles allow on
    /// `kernels` (`read` needs read; `execute` needs read+execute; `owner` needs read+write+execute).
    /// This is the value `ChannelPermissionCache` caches and compares with channel rules.
    public func effectiveLevel(on kernel: KernelAccess) -> AccessLevel {
        cap(rawLevel(on: kernel))
    }

    func cap(_ raw: AccessLevel) -> AccessLevel {
        let acts = actions(on: .kernels)
        guard raw >= .read, acts.allows(.read) else { return .none }
        guard raw >= .execute, acts.allows(.execute) else { return .read }
        guard raw >= .owner, acts.allows(.write) else { return .execute }
        return .owner
    }
}
