import ControlGroups
import ResourceLimits

/// Everything a `KernelManager` needs to launch kernels (`KernelManager.Configuration`).
public struct KernelManagerConfiguration: Sendable {
    /// Where kernelspecs come from (discovered again by `reloadKernelSpecs`).
    public var catalog: KernelSpecCatalog.Configuration
    /// Directory for connection files.
    public var runtimeDirectory: String
    /// The gateway's environment (source of PATH/HOME/LANG, pass-through variables and `${VAR}`).
    public var gatewayEnvironment: [String: String]
    /// What of the gateway's and the client's environment may reach kernels.
    public var environmentPolicy: KernelEnvironment.Policy
    /// `{prefix}` in kernelspec argv.
    public var prefix: String
    /// Timeouts and restart rules of every kernel (the interrupt mode comes from each kernelspec).
    public var lifecycle: KernelLifecycle.Configuration
    /// Most kernels at once; 0 = unlimited.
    public var maxKernels: Int
    /// The last slots of `maxKernels` that only starts with `KernelStart.mayUseReserve` (admins) may take; 0 = none.
    public var reservedKernels = 0
    /// How often each kernel's heartbeat socket is pinged.
    public var heartbeatInterval: Duration = .seconds(5)
    /// How kernels are kept apart (accounts, sandbox, private ipc directories). The gateway checks the
    /// settings (root, roots reachable, files private) before creating the manager.
    public var isolation = KernelIsolation()
    /// The cgroups kernels run in (limits, usage, cleanup), or nil without a writable hierarchy: then any limit
    /// that applies to a start refuses it.
    public var cgroups: CgroupTree?
    /// Per-kernel limits of kernelspecs that set none (`--kernel-*-limit`).
    public var kernelLimits = ResourceLimits.none
    /// Limits of all of one user's kernels together (`--user-*-limit`).
    public var userLimits = ResourceLimits.none

    /// A configuration with the defaults above for everything not given.
    public init(catalog: KernelSpecCatalog.Configuration, runtimeDirectory: String,
                gatewayEnvironment: [String: String], environmentPolicy: KernelEnvironment.Policy = .init(),
                prefix: String = LaunchPlan.defaultPrefix, lifecycle: KernelLifecycle.Configuration = .init(),
                maxKernels: Int = 0, isolation: KernelIsolation = KernelIsolation()) {
        self.catalog = catalog
        self.runtimeDirectory = runtimeDirectory
        self.gatewayEnvironment = gatewayEnvironment
        self.environmentPolicy = environmentPolicy
        self.prefix = prefix
        self.lifecycle = lifecycle
        self.maxKernels = maxKernels
        self.isolation = isolation
    }
}
