/// Decides the limits of one new kernel and of its owner's kernels together. Pure.
///
/// Per kernel, field by field:
/// 1. the kernelspec's value (`metadata.kernel_gateway`), else the gateway's (`--kernel-*-limit`);
/// 2. capped by the owner's role ceiling (policy file `kernel_limits`; the most generous of the user's roles, a
///    role without a value meaning no ceiling);
/// 3. lowered by the request (`KERNEL_*_LIMIT`), which may only ask for less: asking for more than step 2 allows
///    is refused rather than silently lowered;
/// 4. capped by the per-user limit, since a kernel can never use more than all of its owner's kernels together.
///
/// Per user: the gateway's `--user-*-limit`, capped by the role ceiling (`user_limits`).
public struct LimitResolution: Sendable, Equatable {
    /// `--kernel-memory-limit` and friends.
    public var gatewayKernel: ResourceLimits
    /// `--user-memory-limit` and friends.
    public var gatewayUser: ResourceLimits
    /// The kernelspec's `metadata.kernel_gateway` limits.
    public var kernelspec: ResourceLimits
    /// The most a role of the owner allows per kernel.
    public var roleKernelCeiling: ResourceLimits
    /// The most a role of the owner allows for all their kernels together.
    public var roleUserCeiling: ResourceLimits
    /// What the start request asked for.
    public var request: ResourceLimits

    /// Creates a resolution; every input defaults to "no limit".
    public init(gatewayKernel: ResourceLimits = .none, gatewayUser: ResourceLimits = .none,
                kernelspec: ResourceLimits = .none, roleKernelCeiling: ResourceLimits = .none,
                roleUserCeiling: ResourceLimits = .none, request: ResourceLimits = .none) {
        self.gatewayKernel = gatewayKernel
        self.gatewayUser = gatewayUser
        self.kernelspec = kernelspec
        self.roleKernelCeiling = roleKernelCeiling
        self.roleUserCeiling = roleUserCeiling
        self.request = request
    }

    /// The limits of the new kernel and of its owner's kernels together.
    public struct Resolved: Sendable, Equatable {
        public var kernel: ResourceLimits
        public var user: ResourceLimits

        public init(kernel: ResourceLimits, user: ResourceLimits) {
            self.kernel = kernel
            self.user = user
        }
    }

    /// Applies the rules above.
    /// - Throws: `LimitError(.aboveAllowed)` naming the variable when the request asks for more than is allowed
    ///   (or for a limit where none applies it is always allowed: a request may add a limit).
    public func resolve() throws(LimitError) -> Resolved {
        let user = gatewayUser.capped(by: roleUserCeiling)
        let allowed = kernelspec.overriding(gatewayKernel).capped(by: roleKernelCeiling)
        if let asked = request.memoryBytes, let most = allowed.memoryBytes, asked > most {
            throw LimitError(.aboveAllowed, "\(ResourceLimits.memoryVariable) \(MemorySize.format(asked)) is above the allowed \(MemorySize.format(most))")
        }
        if let asked = request.cpuMillicores, let most = allowed.cpuMillicores, asked > most {
            throw LimitError(.aboveAllowed, "\(ResourceLimits.cpuVariable) \(CPUQuota.format(asked)) is above the allowed \(CPUQuota.format(most))")
        }
        if let asked = request.pids, let most = allowed.pids, asked > most {
            throw LimitError(.aboveAllowed, "\(ResourceLimits.pidsVariable) \(asked) is above the allowed \(most)")
        }
        return Resolved(kernel: allowed.capped(by: request).capped(by: user), user: user)
    }
}
