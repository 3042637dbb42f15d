import Foundation

/// How kernels are kept apart from each other and from the gateway (`--kernel-isolation` and its companions).
///
/// A plain value with the pure rules: which Unix account a gateway user maps to, whether that account may run
/// kernels, and where homes and per-kernel directories live. The I/O (account lookup, directories, the sandbox
/// command line) lives in `UnixAccount`, `KernelDirectories` and `SandboxCommand`. The threat model, what each
/// mode guarantees and what it does not, is in docs/authorization.md.
public struct KernelIsolation: Sendable, Equatable {
    /// The isolation mode.
    public enum Mode: String, Sendable, CaseIterable {
        /// Every kernel runs as the gateway's own OS user with loopback TCP ports (Jupyter's behaviour).
        case none
        /// Each kernel runs as its owner's mapped Unix account (the gateway must be root), over `ipc://`.
        case unixUser = "unix-user"
        /// `unixUser` (when the gateway is root) inside bubblewrap namespaces: own pid, ipc, uts, mount and
        /// network namespaces, private /tmp, the system read-only, no gateway file visible.
        case sandbox
    }

    /// Whether an isolated kernel has a network (`--kernel-network`; both isolated modes).
    public enum Network: String, Sendable, CaseIterable {
        /// A network namespace with only a loopback interface of its own: no network, and no loopback port of
        /// the host or of another kernel (ipykernel binds one even with ipc transport) is reachable.
        case none
        /// The host's network (the kernel can reach whatever the machine can, other kernels' loopback ports too).
        case host
    }

    public var mode: Mode
    /// `{username}` in it is replaced by the gateway username; nil means only users-file `unix_user` fields map.
    public var unixUserPattern: String?
    /// Accounts whose uid is outside this range are refused (uid 0 always is).
    public var allowedUIDs: ClosedRange<UInt32>
    /// Root of per-user homes (`<root>/<gateway username>`); nil means the account's passwd home in `unixUser`
    /// mode (required in `sandbox` mode, which the gateway's configuration layer defaults).
    public var homeRoot: String?
    /// Root of the per-kernel private directories (`<root>/<kernel id>`: connection file and ipc sockets).
    public var kernelDirectoryRoot: String
    public var network: Network
    /// Extra host paths visible read-only inside the sandbox.
    public var sandboxReadOnlyPaths: [String]
    /// The bubblewrap executable.
    public var bubblewrapPath: String
    /// Gateway files and directories no kernel may see (users, policy, config, audit log, runtime directory);
    /// hidden inside the sandbox, and required to be private (no group/other access) in isolated modes.
    public var privatePaths: [String]

    /// The default uid range of accounts that may run kernels: Debian's regular (non-system) accounts.
    public static let defaultAllowedUIDs: ClosedRange<UInt32> = 1000...59999

    /// Creates a configuration; `none` needs nothing else.
    public init(mode: Mode = .none, unixUserPattern: String? = nil, allowedUIDs: ClosedRange<UInt32> = defaultAllowedUIDs,
                homeRoot: String? = nil, kernelDirectoryRoot: String = "/run/kernel-gateway/kernels",
                network: Network = .none, sandboxReadOnlyPaths: [String] = [], bubblewrapPath: String = "/usr/bin/bwrap",
                privatePaths: [String] = []) {
        self.mode = mode
        self.unixUserPattern = unixUserPattern
        self.allowedUIDs = allowedUIDs
        self.homeRoot = homeRoot
        self.kernelDirectoryRoot = kernelDirectoryRoot
        self.network = network
        self.sandboxReadOnlyPaths = sandboxReadOnlyPaths
        self.bubblewrapPath = bubblewrapPath
        self.privatePaths = privatePaths
    }

    /// True in every mode but `none`: kernels use `ipc://` in private directories.
    public var isolatesKernels: Bool { mode != .none }

    /// The Unix account name that gateway user `username` maps to: the users file's `unix_user` when set,
    /// else the pattern with `{username}` substituted, else nil (the user cannot start kernels).
    /// - Throws: `.isolation` when the result is not a valid account name (e.g. a gateway username with `@`).
    public func accountName(forUser username: String, configured: String?) throws -> String? {
        if let configured { return configured }
        guard let pattern = unixUserPattern else { return nil }
        let name = pattern.replacingOccurrences(of: "{username}", with: username)
        guard Self.isValidAccountName(name) else {
            throw KernelRuntimeError(
                .isolation, "user '\(username)' maps to '\(name)' through --unix-user-pattern, which is not a valid Unix account name")
        }
        return name
    }

    /// Refuses accounts that must never run kernels: uid or gid 0, membership of group 0, a uid outside
    /// `allowedUIDs`. Throws `.isolation` naming the account and the rule.
    public func validate(_ account: UnixAccount) throws {
        guard account.uid != 0 else {
            throw KernelRuntimeError(.isolation, "Unix account '\(account.name)' is root (uid 0); kernels never run as root")
        }
        guard allowedUIDs.contains(account.uid) else {
            throw KernelRuntimeError(
                .isolation,
                "Unix account '\(account.name)' has uid \(account.uid), outside the allowed range \(allowedUIDs.lowerBound)-\(allowedUIDs.upperBound) (--unix-uid-range)")
        }
        guard account.gid != 0, !account.groups.contains(0) else {
            throw KernelRuntimeError(.isolation, "Unix account '\(account.name)' belongs to group 0 (root); refused")
        }
    }

    /// The home directory of `username`'s kernels: `<homeRoot>/<username>`, or the account's own home when no
    /// root is configured. Gateway usernames are restricted to `A-Za-z0-9._@-`; `.` and `..` are refused.
    public func homeDirectory(forUser username: String, account: UnixAccount?) throws -> String {
        if let homeRoot {
            guard username != ".", username != "..", !username.contains("/") else {
                throw KernelRuntimeError(.isolation, "username '\(username)' cannot name a home directory")
            }
            return homeRoot.hasSuffix("/") ? homeRoot + username : homeRoot + "/" + username
        }
        guard let account, account.home.hasPrefix("/"), account.home != "/" else {
            throw KernelRuntimeError(
                .isolation, "no home directory for user '\(username)': set --kernel-home-root or give the account a home")
        }
        return account.home
    }

    /// The private directory of kernel `kernelID`.
    public func kernelDirectory(for kernelID: String) -> String {
        kernelDirectoryRoot.hasSuffix("/") ? kernelDirectoryRoot + kernelID : kernelDirectoryRoot + "/" + kernelID
    }

    /// The ipc path prefix written as the connection file's `ip` (channels are `<prefix>-1` ... `<prefix>-5`).
    public func ipcPrefix(for kernelID: String) -> String { kernelDirectory(for: kernelID) + "/kernel" }

    /// The longest ipc socket path a kernel of this configuration gets (`sockaddr_un` holds 107 bytes).
    public var longestSocketPath: Int { ipcPrefix(for: String(repeating: "0", count: 36)).utf8.count + 2 }

    /// Whether a pattern's result can be an account name: 1-32 bytes, not starting with `-`, none of the
    /// characters gateway usernames allow but account names do not (`@`). The users file's `unix_user` is
    /// checked fully when the file is read (`UserRecord.isValidUnixAccountName`); the database lookup decides
    /// the rest.
    static func isValidAccountName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 32 && !name.hasPrefix("-") && !name.contains("@") && !name.contains("/")
    }
}
