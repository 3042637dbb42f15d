import ControlGroups
import Foundation
import KernelRuntime
import ResourceLimits

/// Everything an operator can set, with the embedded defaults. Built from (lowest to highest precedence) the
/// defaults, an optional JSON config file, `KG_*` environment variables and command-line flags, by
/// `GatewayConfiguration.load(arguments:environment:readFile:)`. Every option is documented in `helpText` and in
/// `docs/configuration.md`.
public struct GatewayConfiguration: Sendable, Equatable {
    /// The `--config` file is read whole, up to this size.
    public static let maxConfigFileBytes = 1 << 20

    // Network
    public var ip = "127.0.0.1"
    public var port = 8888
    /// How many following ports to try when `port` is busy (Jupyter's `port_retries`).
    public var portRetries = 50
    /// Prefix of every route, normalized to start and end with "/".
    public var baseURL = "/"

    // Identity
    /// The single shared token; nil means "generate one and print it" unless `noAuth` or a users file is set.
    public var token: String?
    /// Serve without any token (only sensible on a private loopback port).
    public var noAuth = false
    public var usersFile: String?
    public var policyFile: String?
    public var auditLog: String?

    // Kernels
    public var kernelspecDirectories: [String] = []
    /// Names that may be started; empty means every discovered kernelspec.
    public var allowedKernelspecs: [String] = []
    public var defaultKernelName: String?
    /// Total kernels the gateway runs at once; 0 means no limit.
    public var maxKernels = 0
    /// Of `maxKernels`, the last slots only admins (roles with `owner` on every kernel) may take, so that one user
    /// cannot lock them out; nil means the default, see `reservedKernels`.
    public var adminReservedKernels: Int?
    /// Gateway environment variables passed through to kernels, beyond PATH, HOME and LANG.
    public var kernelEnvAllowList: [String] = []
    public var runtimeDirectory: String?

    // Kernel isolation (docs/authorization.md, "Kernel isolation")
    public var kernelIsolation: KernelIsolation.Mode = .none
    /// With a users file, mode `none` is refused unless the operator accepts that all kernels share one OS user.
    public var allowSharedKernelUser = false
    /// `{username}` is replaced by the gateway username (e.g. `jk-{username}`).
    public var unixUserPattern: String?
    public var unixUIDRange: ClosedRange<UInt32> = KernelIsolation.defaultAllowedUIDs
    /// Root of per-user homes; nil means the account's own home (`unix-user`) or a default (`sandbox`).
    public var kernelHomeRoot: String?
    /// Root of per-kernel private directories; nil means a default beside the runtime directory.
    public var kernelDirRoot: String?
    public var kernelNetwork: KernelIsolation.Network = .none
    public var sandboxReadOnlyPaths: [String] = []
    public var bubblewrapPath = "/usr/bin/bwrap"
    /// The `--config` file this configuration was read from (kept private from kernels), if any.
    public var configFile: String?

    // Resource limits (docs/operations.md, "Resource limits")
    /// Per-kernel limits of kernelspecs that set none (`--kernel-memory-limit`, `--kernel-cpu-limit`,
    /// `--kernel-pids-limit`).
    public var kernelLimits = ResourceLimits.none
    /// Limits of all of one user's kernels together (`--user-memory-limit`, ...).
    public var userLimits = ResourceLimits.none
    /// Where the cgroup hierarchies are mounted (hidden `--cgroup-root`, for tests).
    public var cgroupRoot = CgroupHierarchy.defaultRoot

    // Culling (Jupyter's names and meanings)
    public var cullIdleTimeout = 0
    public var cullInterval = 300
    public var cullConnected = false
    public var cullBusy = false

    // HTTP and WebSocket limits
    public var allowOrigins: [String] = []
    public var maxHeaderBytes = 64 * 1024
    /// REST bodies are small JSON documents (the largest, a session or kernel start, is a few KiB).
    public var maxBodyBytes = 1024 * 1024
    public var maxMessageBytes = 64 * 1024 * 1024
    public var idleTimeoutSeconds = 300
    /// Seconds from a request's first byte until its head must be complete (408 beyond).
    public var headerTimeoutSeconds = 10
    /// Seconds from the end of a request's head until its body must be complete (408 beyond).
    public var bodyTimeoutSeconds = 30
    /// Open HTTP and WebSocket connections at once (503 beyond).
    public var maxConnections = 10_000
    /// Open HTTP and WebSocket connections from one client IP address (503 beyond).
    public var maxConnectionsPerAddress = 256
    public var pingIntervalSeconds = 30
    /// Bytes queued towards one WebSocket before the gateway stops reading from that client's kernel stream and,
    /// past twice the bound, closes the connection (see docs/operations.md).
    public var outboundQueueBytes = 16 * 1024 * 1024
    /// Bytes of missed output kept per session while it is disconnected, replayed on reconnect.
    public var replayBufferBytes = 4 * 1024 * 1024
    /// Largest message a reader (read but not execute access) may send on a kernel's channels.
    public var readerMaxMessageBytes = 16 * 1024
    /// Messages a second, after a burst of `readerBurst`, that one reader's connection may send.
    public var readerMessagesPerSecond = 10
    public var readerBurst = 20

    // Process
    public var logLevel = "info"
    /// Event loops (threads); 0 means one per core.
    public var loops = 0
    /// Serve /metrics without a token.
    public var metricsOpen = false

    public init() {}

    /// The admins' reserve in force: `adminReservedKernels` when set; otherwise 10% of `maxKernels`, at least 1 but
    /// never every slot (so none with `--max-kernels 1`); 0 without a gateway-wide limit.
    public var reservedKernels: Int {
        guard maxKernels > 0 else { return 0 }
        if let adminReservedKernels { return min(adminReservedKernels, maxKernels) }
        return min(max(1, maxKernels / 10), maxKernels - 1)
    }

    /// A problem with one option, naming it.
    public struct Error: Swift.Error, CustomStringConvertible, Equatable {
        public let message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// What `--help` printed or a request to show the version, instead of a configuration.
    public enum Outcome: Equatable, Sendable {
        case run(GatewayConfiguration)
        case help
    }
}
