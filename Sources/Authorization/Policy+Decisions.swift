extension Policy {
    /// Decides whether `identity` may perform `action` on `resource`. Pure; safe from any thread.
    ///
    /// Rules, in order:
    /// - Kernel (or session) instances: invisible (`hidden`, 404) unless the caller can read the kernel;
    ///   then the roles must allow the action on the type; then the kernel level must reach the action's
    ///   level (`read` → read, `execute` → execute, `write` → owner). Access control always needs owner.
    /// - Starting a kernel (`write` with a kernelspec): roles allow write on the type (and on kernels for
    ///   sessions), the kernelspec matches a pattern, and the caller owns fewer than `maxKernels`.
    /// - Everything else: the roles must allow the action on the resource type.
    public func decide(_ identity: Identity, _ action: Action, _ resource: Resource) -> Decision {
        decide(permissions(for: identity), action, resource)
    }

    /// Same as `decide(_:_:_:)` with the identity's roles already resolved.
    public func decide(_ perms: EffectivePermissions, _ action: Action, _ resource: Resource) -> Decision {
        let typeActions = perms.actions(on: resource.type)
        if let kernel = resource.kernel {
            return decideKernelInstance(perms, action, resource, kernel)
        }
        guard typeActions.allows(action) else { return .denied(Self.notPermitted(perms, action, resource.type)) }
        if action == .write, let spec = resource.kernelspec,
            resource.type == .kernels || resource.type == .sessions
        {
            return decideStart(perms, spec: spec, owned: resource.ownedKernelCount)
        }
        return .allowed
    }

    private func decideKernelInstance(
        _ perms: EffectivePermissions, _ action: Action, _ resource: Resource, _ kernel: KernelAccess
    ) -> Decision {
        let raw = perms.rawLevel(on: kernel)
        let kernelActions = perms.actions(on: .kernels)
        let typeActions = perms.actions(on: resource.type)
        guard raw >= .read, kernelActions.allows(.read), typeActions.allows(.read) else {
            let what = resource.type == .sessions ? "session" : "kernel"
            return .denied(.init(code: .notVisible, reason: "\(what) not found", hidden: true))
        }
        let needed: AccessLevel
        let neededAction: Action
        if resource.isAccessControl {
            needed = .owner
            neededAction = .write
        } else {
            needed = switch action {
            case .read: .read
            case .execute: .execute
            case .write: .owner
            }
            neededAction = action
        }
        guard typeActions.allows(neededAction) else {
            return .denied(Self.notPermitted(perms, neededAction, resource.type))
        }
        // A session's write or execute acts on its kernel, so the roles must also allow that on kernels.
        guard kernelActions.allows(neededAction) else {
            return .denied(Self.notPermitted(perms, neededAction, .kernels))
        }
        guard raw >= needed else {
            let what = resource.isAccessControl ? "change access to" : "\(action.rawValue) on"
            return .denied(
                .init(
                    code: .insufficientKernelAccess,
                    reason: "you have \(raw.name) access to this kernel; \(what) it needs \(needed.name)"))
        }
        return .allowed
    }

    private func decideStart(_ perms: EffectivePermissions, spec: String, owned: Int) -> Decision {
        guard perms.actions(on: .kernels).allows(.write) else {
            return .denied(Self.notPermitted(perms, .write, .kernels))
        }
        guard perms.allowsKernelspec(spec) else {
            return .denied(
                .init(code: .kernelspecNotAllowed, reason: "starting kernels from kernelspec '\(spec)' is not allowed"))
        }
        if let limit = perms.maxKernels, owned >= limit {
            let reason = "per-user kernel limit reached: you own \(owned) of at most \(limit)"
            return .denied(.init(code: .kernelLimitReached, reason: reason, kernelLimit: limit))
        }
        return .allowed
    }

    static func notPermitted(_ perms: EffectivePermissions, _ action: Action, _ type: ResourceType) -> Decision.Denial {
        var reason = "your roles do not allow \(action.rawValue) on \(type.rawValue)"
        if !perms.unknownRoles.isEmpty {
            reason += " (unknown roles: \(perms.unknownRoles.joined(separator: ", ")))"
        }
        return .init(code: .actionNotPermitted, reason: reason)
    }

    /// Whether the caller may see a kernel (list it, get it, connect to watch it).
    public func canRead(_ perms: EffectivePermissions, kernel: KernelAccess) -> Bool {
        decide(perms, .read, .kernel(kernel)).isAllowed
    }

    /// The items whose kernel the caller may read, in their original order: the filter for
    /// `GET /api/kernels` and `GET /api/sessions`.
    public func filterReadable<Item>(
        _ items: some Sequence<Item>, for identity: Identity, access: (Item) -> KernelAccess
    ) -> [Item] {
        let perms = permissions(for: identity)
        return items.filter { canRead(perms, kernel: access($0)) }
    }

    /// For `/api/me?permissions=`: of the requested `{resourceType: [action]}`, the allowed subset, in the
    /// same shape as Jupyter Server (every requested key present; its allowed actions in request order).
    /// Type-level answer: "may I read kernels" means "may I read some kernels". Unknown resource types
    /// and unknown actions are never allowed.
    public func allowedSubset(of requested: [String: [String]], for identity: Identity) -> [String: [String]] {
        let perms = permissions(for: identity)
        var result: [String: [String]] = [:]
        for (key, actions) in requested {
            guard let type = ResourceType(rawValue: key) else {
                result[key] = []
                continue
            }
            let allowed = perms.actions(on: type)
            result[key] = actions.filter { name in Action(rawValue: name).map { allowed.allows($0) } ?? false }
        }
        return result
    }
}
