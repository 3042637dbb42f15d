import ResourceLimits

/// A named bundle of permissions, built in or defined in the policy file.
///
/// A caller holding several roles gets the union of them (see `EffectivePermissions`).
public struct Role: Sendable, Hashable {
    /// The name users files refer to.
    public var name: String
    /// Allowed actions per resource type; absent types allow nothing.
    public var permissions: [ResourceType: ActionSet]
    /// Access this role gives to every kernel, whoever owns it (`owner` for admins, `none` normally).
    public var allKernels: AccessLevel
    /// Kernelspecs this role may start kernels from (only meaningful with `write` on `kernels`).
    public var kernelspecs: [KernelspecPattern]
    /// Most kernels one user with this role may own at once; nil means no limit.
    public var maxKernels: Int?
    /// The most each kernel of a user with this role may use (policy file `kernel_limits`); a nil field is no
    /// ceiling. Kernelspec and gateway limits above it are lowered to it.
    public var kernelLimits: ResourceLimits
    /// The most all kernels of one user with this role may use together (policy file `user_limits`).
    public var userLimits: ResourceLimits

    /// Creates a role. No validation: the policy file parser validates what it reads.
    public init(
        name: String, permissions: [ResourceType: ActionSet], allKernels: AccessLevel = .none,
        kernelspecs: [KernelspecPattern] = [], maxKernels: Int? = nil, kernelLimits: ResourceLimits = .none,
        userLimits: ResourceLimits = .none
    ) {
        self.kernelLimits = kernelLimits
        self.userLimits = userLimits
        self.name = name
        self.permissions = permissions
        self.allKernels = allKernels
        self.kernelspecs = kernelspecs
        self.maxKernels = maxKernels
    }

    /// The actions this role allows on `type`.
    public func actions(on type: ResourceType) -> ActionSet { permissions[type] ?? [] }

    /// Everything, on every kernel, from every kernelspec, with no limit.
    public static let admin = Role(
        name: "admin",
        permissions: Dictionary(uniqueKeysWithValues: ResourceType.allCases.map { ($0, ActionSet.all) }),
        allKernels: .owner, kernelspecs: ["*"], maxKernels: nil)

    /// Starts kernels from any kernelspec (at most `defaultUserMaxKernels` at once), fully controls its own
    /// kernels, uses kernels shared with it at the shared level; reads kernelspecs and the api. No metrics.
    public static let user = Role(
        name: "user",
        permissions: [
            .kernels: .all, .sessions: [.read, .write], .kernelspecs: .read, .api: .read,
        ],
        allKernels: .none, kernelspecs: ["*"], maxKernels: defaultUserMaxKernels)

    /// The built-in `user` role's per-user kernel limit, so that one user cannot take every kernel the gateway
    /// may run. A policy file changes it with `roles.user.max_kernels` (null for no limit).
    public static let defaultUserMaxKernels = 4

    /// Read-only: sees kernels shared with it, connects and watches, asks harmless questions; never
    /// executes, starts or changes anything.
    public static let viewer = Role(
        name: "viewer",
        permissions: [.kernels: .read, .sessions: .read, .kernelspecs: .read, .api: .read],
        allKernels: .none, kernelspecs: [], maxKernels: 0)

    /// The three built-in roles, by name.
    public static let builtIn: [String: Role] = ["admin": admin, "user": user, "viewer": viewer]
}
