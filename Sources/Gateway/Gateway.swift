import Basics
import Authorization
import ControlGroups
import EventLoop
import Foundation
import HTTPServer
import JupyterProtocol
import KernelRuntime
import Logging
import Synchronization
import Glibc

/// The whole gateway: event loops, kernel manager, HTTP server, policy, audit log, culler. Built from a
/// `GatewayConfiguration`; `start()` binds and serves, `stop()` shuts down gracefully (stop accepting, tell
/// clients, shut kernels down, remove connection files), `reload()` re-reads users, policy and kernelspecs.
public final class Gateway: Sendable {
    public let configuration: GatewayConfiguration
    private let group: EventLoopGroup
    private let manager: GatewayKernelManager
    private let policy: PolicyStore
    private let audit: AuditLog
    private let metrics: GatewayMetrics
    private let responder: GatewayResponder
    private let logger: Logger
    private let server = Mutex<HTTPServer?>(nil)
    private let cullTask = Mutex<Task<Void, Never>?>(nil)
    /// The latest reload asked for; the next one waits for it.
    private let lastReload = Mutex<Task<Void, Never>?>(nil)
    /// The kernels' cgroups, or nil without a writable hierarchy (then no limits can be configured).
    private let cgroups: CgroupTree?
    /// The shared token in single-user mode (generated when not configured), for printing once at startup.
    public let sharedToken: String?

    /// Builds every component; nothing listens yet.
    /// - Throws: `GatewayError` naming the file or setting that is wrong.
    public init(configuration: GatewayConfiguration, environment: [String: String], logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        // A reconnecting session's replay is written at once; it must fit under the outbound queue's bound.
        if configuration.replayBufferBytes > configuration.outboundQueueBytes {
            throw GatewayError("--replay-buffer-bytes (\(configuration.replayBufferBytes)) must not exceed --outbound-queue-bytes (\(configuration.outboundQueueBytes))")
        }
        let (policy, authenticator, token) = try Gateway.loadIdentity(configuration)
        sharedToken = token
        self.policy = PolicyStore(policy: policy, authenticator: authenticator)
        do { audit = try AuditLog(path: configuration.auditLog) } catch {
            throw GatewayError("\(error)")
        }
        group = try EventLoopGroup(count: configuration.loops == 0 ? EventLoopGroup.defaultLoopCount : configuration.loops)
        let paths = JupyterPaths(environment: environment, environmentPrefix: nil)
        let runtime = configuration.runtimeDirectory ?? paths.runtimeDirectory ?? "/tmp/kernel-gateway-runtime"
        let isolation: KernelIsolation
        do {
            isolation = try Gateway.prepareIsolation(configuration, runtimeDirectory: runtime, environment: environment,
                                                     logger: logger)
        } catch {
            group.shutdown()
            throw error
        }
        let cgroups: CgroupTree?
        do { cgroups = try Gateway.prepareCgroups(configuration, logger: logger) } catch {
            group.shutdown()
            throw error
        }
        self.cgroups = cgroups
        var lifecycle = KernelLifecycle.Configuration()
        lifecycle.startupTimeout = .seconds(60)
        var managerConfiguration = KernelManagerConfiguration(
            catalog: .init(environment: environment, extraDirectories: configuration.kernelspecDirectories,
                           allowedNames: Set(configuration.allowedKernelspecs.map { $0.lowercased() }),
                           defaultKernelName: configuration.defaultKernelName),
            runtimeDirectory: runtime, gatewayEnvironment: environment,
            environmentPolicy: .init(passThrough: configuration.kernelEnvAllowList),
            lifecycle: lifecycle, maxKernels: configuration.maxKernels, isolation: isolation)
        managerConfiguration.reservedKernels = configuration.reservedKernels
        managerConfiguration.cgroups = cgroups
        managerConfiguration.kernelLimits = configuration.kernelLimits
        managerConfiguration.userLimits = configuration.userLimits
        let metrics = GatewayMetrics()
        let sessions = SessionStore()
        self.metrics = metrics
        manager = GatewayKernelManager(group: group, configuration: managerConfiguration, logger: logger) { record in
            Gateway.retire(record, metrics: metrics, sessions: sessions)
        }
        let hubLimits = ChannelHub.Limits(
            router: .init(replayBufferBytes: configuration.replayBufferBytes,
                          readerLimits: ReaderLimits(maxMessageBytes: configuration.readerMaxMessageBytes,
                                                     messagesPerSecond: configuration.readerMessagesPerSecond,
                                                     burst: configuration.readerBurst)),
            webSocket: .init(maxMessageBytes: configuration.maxMessageBytes,
                             pingInterval: .seconds(configuration.pingIntervalSeconds),
                             outboundHighWaterMark: configuration.outboundQueueBytes,
                             outboundHardLimit: configuration.outboundQueueBytes * 2))
        responder = GatewayResponder(configuration: configuration, manager: manager, sessions: sessions,
                                     policy: self.policy, audit: audit, hubLimits: hubLimits, metrics: metrics,
                                     logger: logger)
    }

    /// Checks the isolation settings and the files and directories they rely on: roots created (0711) and reachable
    /// by kernel accounts, gateway files private. Logs the shared-user warning in mode `none` with users.
    static func prepareIsolation(_ configuration: GatewayConfiguration, runtimeDirectory: String,
                                 environment: [String: String], logger: Logger) throws -> KernelIsolation {
        let isRoot = geteuid() == 0
        let dataHome = environment["XDG_DATA_HOME"] ?? ((environment["HOME"] ?? "/tmp") + "/.local/share")
        let isolation: KernelIsolation
        do {
            isolation = try configuration.kernelIsolationSettings(
                runtimeDirectory: runtimeDirectory, isRoot: isRoot, dataHome: dataHome,
                isExecutable: { access($0, X_OK) == 0 })
        } catch let error as GatewayConfiguration.Error {
            throw GatewayError(error.message)
        }
        for warning in configuration.warnings { logger.warning("\(warning)") }
        guard isolation.isolatesKernels else { return isolation }
        for path in isolation.privatePaths {
            if let problem = KernelDirectories.privacyProblem(path) { throw GatewayError("kernel isolation: \(problem)") }
        }
        do {
            try KernelDirectories.prepareRoot(isolation.kernelDirectoryRoot, reachableByOthers: isRoot)
            if let homeRoot = isolation.homeRoot { try KernelDirectories.prepareRoot(homeRoot, reachableByOthers: isRoot) }
        } catch let error as KernelRuntimeError {
            throw GatewayError("kernel isolation: \(error.message)")
        }
        if isolation.unixUserPattern == nil && configuration.usersFile == nil && isRoot {
            logger.warning("kernel isolation is on but no --unix-user-pattern is set: the shared-token user cannot start kernels")
        }
        logger.info("kernel isolation", metadata: ["mode": isolation.mode.rawValue,
                                                    "kernel_dir_root": isolation.kernelDirectoryRoot,
                                                    "home_root": isolation.homeRoot ?? "(account homes)",
                                                    "network": isolation.network.rawValue])
        return isolation
    }

    /// The kernels' cgroup tree, when a writable hierarchy is found below `--cgroup-root`: kernels then run in
    /// cgroups (usage, cleanup of leftovers) even without limits. Without one, configured limits stop the start;
    /// otherwise the gateway runs without cgroups (logged).
    static func prepareCgroups(_ configuration: GatewayConfiguration, logger: Logger) throws -> CgroupTree? {
        let (kernel, user) = (configuration.kernelLimits, configuration.userLimits)
        do throws(CgroupError) {
            let tree = try CgroupTree.open(root: configuration.cgroupRoot)
            do throws(CgroupError) {
                try tree.check(kernel)
                try tree.check(user)
            } catch {
                tree.base.removeRecursively()
                throw error
            }
            logger.info("kernel cgroups", metadata: ["version": tree.hierarchy.version.rawValue,
                                                     "base": tree.base.uniqueDirectories.joined(separator: ","),
                                                     "kernel_limits": "\(kernel)", "user_limits": "\(user)"])
            return tree
        } catch {
            if !kernel.isEmpty || !user.isEmpty {
                throw GatewayError("resource limits (kernel: \(kernel); user: \(user)) need a writable cgroup hierarchy: \(error.message)")
            }
            logger.info("kernels run without cgroups: no resource limits and no usage figures",
                        metadata: ["error": error.message])
            return nil
        }
    }

    /// Single-user mode unless a users file is given: the configured token, or a fresh one.
    private static func loadIdentity(_ configuration: GatewayConfiguration) throws -> (Policy, Authenticator?, String?) {
        var policy = Policy.default
        if let path = configuration.policyFile {
            policy = try loadPolicy(path)
        }
        if configuration.noAuth { return (policy, nil, nil) }
        if let path = configuration.usersFile {
            return (policy, .users(try loadUsers(path)), nil)
        }
        let token = configuration.token ?? Tokens.generate()
        guard let authenticator = SharedTokenAuthenticator(token: token) else {
            throw GatewayError("--token must not be empty")
        }
        return (policy, .sharedToken(authenticator), token)
    }

    /// The users and policy files are read whole; these bounds keep a wrong path (a log, a device) from filling
    /// memory. 64 MiB holds several hundred thousand users.
    public static let maxUsersFileBytes = 64 << 20
    public static let maxPolicyFileBytes = 16 << 20

    static func loadPolicy(_ path: String) throws -> Policy {
        let bytes: [UInt8]
        do { bytes = try BoundedFileReader.read(path, maxBytes: maxPolicyFileBytes) } catch {
            throw GatewayError("cannot read policy file \(error)")
        }
        do { return try Policy(fileContents: bytes) } catch {
            throw GatewayError("policy file \(path): \(error)")
        }
    }

    static func loadUsers(_ path: String) throws -> UserStore {
        let bytes: [UInt8]
        do { bytes = try BoundedFileReader.read(path, maxBytes: maxUsersFileBytes) } catch {
            throw GatewayError("cannot read users file \(error)")
        }
        do { return try UserStore(fileContents: bytes) } catch {
            throw GatewayError("users file \(path): \(error)")
        }
    }

    /// What the gateway does when the manager removes a kernel from its table (shut down, or finished on its own):
    /// its hub's counters go into the retired totals and its clients are told, on the hub's loop; its sessions go.
    /// Called once per kernel, by the manager.
    private static func retire(_ record: KernelRecord, metrics: GatewayMetrics, sessions: SessionStore) {
        let hub = record.hub
        hub.loop.execute {
            metrics.retire(hub.counters)
            hub.close(reason: "kernel shut down")
        }
        let id = record.id
        Task { await sessions.removeSessions(ofKernel: id) }
    }

    /// Binds (trying following ports when busy, up to `portRetries`) and starts serving. Returns the port.
    public func start() async throws -> Int {
        var lastError: Error?
        for attempt in 0...configuration.portRetries {
            let port = configuration.port == 0 ? 0 : configuration.port + attempt
            let serverConfiguration = HTTPServerConfiguration(
                host: configuration.ip, port: port,
                limits: .init(maxHeaderBytes: configuration.maxHeaderBytes, maxBodyBytes: configuration.maxBodyBytes),
                idleTimeoutSeconds: configuration.idleTimeoutSeconds,
                headerTimeout: .seconds(configuration.headerTimeoutSeconds),
                bodyTimeout: .seconds(configuration.bodyTimeoutSeconds),
                maxConnections: configuration.maxConnections,
                maxConnectionsPerAddress: configuration.maxConnectionsPerAddress)
            do {
                let server = try HTTPServer(group: group, configuration: serverConfiguration, responder: responder, logger: logger)
                try await server.start()
                self.server.withLock { $0 = server }
                startCuller()
                logger.info("serving", metadata: ["ip": configuration.ip, "port": "\(server.port)",
                                                  "base_url": configuration.baseURL])
                return server.port
            } catch let error as SystemError where error.code == EADDRINUSE {
                logger.warning("port busy, trying the next", metadata: ["port": "\(port)"])
                lastError = error
            }
        }
        throw GatewayError("no free port from \(configuration.port) to \(configuration.port + configuration.portRetries): \(lastError.map { "\($0)" } ?? "")")
    }

    /// Graceful stop: stop accepting, close clients with "going away", shut every kernel down (shutdown_request,
    /// SIGTERM, SIGKILL), remove connection files, stop the loops.
    public func stop() async {
        logger.info("stopping")
        cullTask.withLock { $0?.cancel() }
        if let server = server.withLock({ $0 }) { await server.stop() }
        for record in manager.all {
            let hub = record.hub
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                hub.loop.execute {
                    hub.close(reason: "the gateway is shutting down")
                    done.resume()
                }
            }
        }
        await manager.shutdownAll()
        if let cgroups, !(await cgroups.removeAll()) {
            logger.warning("kernel cgroups not fully removed", metadata: ["base": cgroups.base.uniqueDirectories.joined(separator: ",")])
        }
        // Let close frames and final writes leave before the loops stop.
        try? await Task.sleep(for: .milliseconds(100))
        group.shutdown()
        logger.info("stopped")
    }

    /// SIGHUP: re-read the users and policy files (a broken file is rejected with a log line and the old one
    /// stays), rediscover kernelspecs, reopen the audit log. Open connections stay. Reloads run one at a time, in
    /// the order they were asked for: an older, slower reload must not replace the files a newer one read (and so
    /// bring a revoked token back).
    public func reload() async {
        let task = lastReload.withLock { previous -> Task<Void, Never> in
            let next = Task { [previous] in
                await previous?.value
                await self.reloadNow()
            }
            previous = next
            return next
        }
        await task.value
    }

    private func reloadNow() async {
        do {
            var newPolicy: Policy?
            if let path = configuration.policyFile { newPolicy = try Gateway.loadPolicy(path) }
            var newAuthenticator: Authenticator?
            if let path = configuration.usersFile { newAuthenticator = .users(try Gateway.loadUsers(path)) }
            policy.replace(policy: newPolicy, authenticator: newAuthenticator)
            // Open connections follow the reloaded files: removed users and rotated or revoked tokens are
            // disconnected, roles updated. Without a users file (shared token, --no-auth) nothing can change.
            let (current, store) = (policy.current, policy)
            let users = policy.users
            for record in manager.all {
                // Grants of removed users go now, so an account created later under the same name starts
                // without them.
                if let users {
                    let dropped = record.access.update { $0.removeGrants { users.user(named: $0) != nil } }
                    if !dropped.isEmpty {
                        logger.info("dropped grants of removed users",
                                    metadata: ["kernel": "\(record.id)", "users": "\(dropped.joined(separator: ","))"])
                    }
                }
                let hub = record.hub
                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                    hub.loop.execute {
                        hub.reauthorize(policy: current) { store.standing(of: $0, tokenDigest: $1) }
                        done.resume()
                    }
                }
            }
            logger.info("reloaded users and policy")
        } catch {
            logger.error("reload rejected; the previous users and policy stay in force", metadata: ["error": "\(error)"])
        }
        await manager.reloadKernelSpecs()
        audit.reopen()
    }

    private func startCuller() {
        guard configuration.cullIdleTimeout > 0 else { return }
        let configuration = self.configuration
        let manager = self.manager
        let audit = self.audit
        let logger = self.logger
        let task = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(configuration.cullInterval))
                if Task.isCancelled { return }
                let now = UTCTimestamp.now().seconds
                for record in manager.all {
                    let kernel = record.kernel
                    let idleSeconds = now - (await kernel.lastActivity).seconds
                    let state = await kernel.executionState
                    guard idleSeconds >= Int64(configuration.cullIdleTimeout) else { continue }
                    if state == .busy && !configuration.cullBusy { continue }
                    if record.hub.connectionCount > 0 && !configuration.cullConnected { continue }
                    logger.info("culling idle kernel", metadata: ["kernel_id": kernel.id, "idle_seconds": "\(idleSeconds)"])
                    audit.record(AuditEvent(timeMilliseconds: AuditLog.nowMilliseconds(), user: nil, action: "cull",
                                            resource: "kernels/\(kernel.id)", outcome: .allowed,
                                            reason: "idle for \(idleSeconds) s"))
                    try? await manager.shutdownKernel(id: kernel.id)
                }
            }
        }
        cullTask.withLock { $0 = task }
    }
}

/// A configuration or startup problem, with a message naming the file or setting.
public struct GatewayError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
