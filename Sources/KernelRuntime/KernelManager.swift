import EventLoop
import ZeroMQ
import Foundation
import JupyterProtocol
import Logging
import JSONValue

/// Starts, lists, finds and stops kernels; spreads them over the event loops; shuts them all down when the
/// gateway stops. Safe to call from any task.
public actor KernelManager {
    /// Everything the manager needs to launch kernels.
    public struct Configuration: Sendable {
        /// Where kernelspecs come from (discovered again by `reloadKernelSpecs`).
        public var catalog: KernelSpecCatalog.Configuration
        /// Directory for connection files.
        public var runtimeDirectory: String
        /// The gateway's environment (source of PATH/HOME/LANG, pass-through variables and `${VAR}`).
        public var gatewayEnvironment: [String: String]
        public var environmentPolicy: KernelEnvironment.Policy
        /// `{prefix}` in kernelspec argv.
        public var prefix: String
        public var lifecycle: KernelLifecycle.Configuration
        /// Most kernels at once; 0 = unlimited.
        public var maxKernels: Int
        /// How often each kernel's heartbeat socket is pinged.
        public var heartbeatInterval: Duration = .seconds(5)
        /// How kernels are kept apart (accounts, sandbox, private ipc directories). The gateway checks the
        /// settings (root, roots reachable, files private) before creating the manager.
        public var isolation = KernelIsolation()

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

    /// Why a kernel could not be started or found. `code` maps to an HTTP status in the gateway.
    public struct ManagerError: Error, Sendable, CustomStringConvertible, Equatable {
        public enum Code: Sendable, Equatable {
            /// No such kernelspec (404).
            case unknownKernelSpec
            /// Bad input from the caller, e.g. an invalid `KERNEL_*` variable (400).
            case invalidRequest
            /// The gateway-wide kernel limit is reached (403).
            case limitReached
            /// The kernel process could not start or died before it was ready (500).
            case startFailed
            /// No kernel with that id (404).
            case notFound
            /// The gateway is stopping (503).
            case shuttingDown
            /// Kernel isolation refuses this user: no Unix account mapping, or an account that may not run
            /// kernels (403).
            case forbidden
        }
        public let code: Code
        public let message: String
        public init(_ code: Code, _ message: String) {
            self.code = code
            self.message = message
        }
        public var description: String { message }
    }

    public nonisolated let group: EventLoopGroup
    private let configuration: Configuration
    private let context: ZMQContext
    private let store: ConnectionFileStore
    private let ports = LoopbackPortAllocator.shared
    private let logger: Logger
    public private(set) var catalog: KernelSpecCatalog
    private var kernels: [String: Kernel] = [:]
    private var portsByKernel: [String: [Int]] = [:]
    private var order: [String] = []
    private var starting = 0
    private var stopping = false
    private var observers: [@Sendable (KernelEvent) -> Void] = []

    /// Lifecycle notices for other components (the gateway's channel hubs, metrics, audit).
    public enum KernelEvent: Sendable {
        case started(Kernel)
        case removed(String)
    }

    /// The gateway's own account: what sandboxed kernels run as when the gateway is not root.
    private let gatewayAccount: UnixAccount?

    public init(group: EventLoopGroup, configuration: Configuration, logger: Logger) throws {
        self.group = group
        self.configuration = configuration
        self.logger = logger
        gatewayAccount = configuration.isolation.isolatesKernels && geteuid() != 0 ? UnixAccount.current() : nil
        context = try ZMQContext()
        store = ConnectionFileStore(directory: configuration.runtimeDirectory)
        catalog = KernelSpecCatalog.discover(configuration.catalog)
        for problem in catalog.problems {
            logger.warning("kernelspec ignored", metadata: ["name": problem.name, "file": problem.specFile,
                                                            "error": problem.error.message])
        }
    }

    /// Discovers kernelspecs again (new, changed or removed specs take effect for new kernels).
    public func reloadKernelSpecs() {
        catalog = KernelSpecCatalog.discover(configuration.catalog)
    }

    /// Registers a callback for kernel starts and removals (called on arbitrary threads).
    public func observe(_ observer: @escaping @Sendable (KernelEvent) -> Void) {
        observers.append(observer)
    }

    /// The running kernels in start order.
    public var all: [Kernel] { order.compactMap { kernels[$0] } }

    public var count: Int { kernels.count }

    public func kernel(id: String) -> Kernel? { kernels[id] }

    /// Starts a kernel from the kernelspec `name` (or the default) for `owner`, and returns it once ready.
    /// - Parameters:
    ///   - clientEnvironment: the request's `env`; only valid `KERNEL_*` variables are used.
    ///   - forcedEnvironment: variables the gateway sets and clients cannot override (e.g. `KERNEL_USERNAME`).
    ///   - unixUser: the owner's `unix_user` from the users file (isolation maps through the pattern otherwise).
    /// - Throws: `ManagerError` with a code saying why (`.forbidden` when isolation refuses the owner).
    public func startKernel(name: String?, owner: String, clientEnvironment: [String: JSONValue] = [:],
                            forcedEnvironment: [String: String] = [:], unixUser: String? = nil) async throws -> Kernel {
        guard !stopping else { throw ManagerError(.shuttingDown, "the gateway is shutting down") }
        if configuration.maxKernels > 0 && kernels.count + starting >= configuration.maxKernels {
            throw ManagerError(.limitReached, "the gateway runs its maximum of \(configuration.maxKernels) kernels")
        }
        guard let specName = name ?? catalog.defaultName else {
            throw ManagerError(.unknownKernelSpec, "no kernel name given and no default kernelspec")
        }
        let spec: KernelSpec
        do { spec = try catalog.spec(named: specName) } catch {
            throw ManagerError(.unknownKernelSpec, "no such kernelspec: \(specName)")
        }
        let account = try isolationAccount(owner: owner, configured: unixUser)
        // `starting` counts starts not yet visible in `kernels`, so the limit counts every kernel exactly once.
        starting += 1
        var countedAsStarting = true
        defer { if countedAsStarting { starting -= 1 } }
        // Ports are found by binding port 0 and closing; another process can take one before the kernel binds it.
        // A kernel that dies before it is ready is therefore tried again with fresh ports and a fresh id (a broken
        // kernel fails the same way each time, so this costs it two quick extra attempts).
        var attempt = 0
        var kernel: Kernel
        while true {
            attempt += 1
            let id = UUID().uuidString.lowercased()
            var forced = forcedEnvironment
            forced["KERNEL_ID"] = id
            let environment: KernelEnvironment
            do {
                environment = try KernelEnvironment.build(gateway: configuration.gatewayEnvironment,
                                                          policy: configuration.environmentPolicy, specEnv: spec.env,
                                                          client: clientEnvironment, forced: forced)
            } catch let error as KernelRuntimeError {
                throw ManagerError(.invalidRequest, error.message)
            }
            if let account {
                kernel = try launchIsolated(id: id, spec: spec, owner: owner, account: account, environment: environment)
            } else {
                kernel = try launchOnce(id: id, spec: spec, owner: owner, environment: environment)
            }
            kernels[id] = kernel
            order.append(id)
            starting -= 1
            countedAsStarting = false
            do {
                try await kernel.start()
                break
            } catch {
                logger.warning("kernel failed to start", metadata: ["kernel_id": id, "attempt": "\(attempt)", "error": "\(error)"])
                await kernel.shutdown(now: true)
                forget(id)
                if attempt >= 3 || stopping {
                    throw ManagerError(.startFailed, "kernel \(spec.name) failed to start: \(error)")
                }
                starting += 1
                countedAsStarting = true
            }
        }
        let id = kernel.id
        logger.info("kernel started", metadata: ["kernel_id": id, "kernel_name": spec.name, "owner": owner])
        for observer in observers { observer(.started(kernel)) }
        return kernel
    }

    /// Allocates ports, writes the connection file and creates the kernel (not yet started).
    private func launchOnce(id: String, spec: KernelSpec, owner: String, environment: KernelEnvironment) throws -> Kernel {
        let allocated: [Int]
        do { allocated = try ports.allocate(count: 5) } catch {
            throw ManagerError(.startFailed, "cannot allocate ports: \(error)")
        }
        let info = ConnectionInfo(kernelName: spec.name, ports: allocated)
        let path: String
        do { path = try store.write(info, kernelID: id) } catch {
            ports.release(allocated)
            throw ManagerError(.startFailed, "cannot write the connection file: \(error)")
        }
        let plan: LaunchPlan
        do {
            plan = try LaunchPlan.make(spec: spec, connectionFile: path, environment: environment,
                                       prefix: configuration.prefix, isExecutable: LaunchPlan.isExecutableFile)
        } catch {
            _ = store.remove(kernelID: id)
            ports.release(allocated)
            throw ManagerError(.startFailed, "\(error)")
        }
        do {
            let kernel = try Kernel(id: id, spec: spec, owner: owner, info: info, connectionFile: path, plan: plan,
                                    loop: group.next(), context: context, store: store,
                                    lifecycle: lifecycleConfiguration(for: spec),
                                    heartbeatInterval: configuration.heartbeatInterval, logger: logger) { [weak self] id in
                guard let self else { return }
                Task { await self.forget(id) }
            }
            portsByKernel[id] = allocated
            return kernel
        } catch {
            _ = store.remove(kernelID: id)
            ports.release(allocated)
            throw ManagerError(.startFailed, "\(error)")
        }
    }

    /// The account `owner`'s kernels run as, or nil without isolation. Throws `.forbidden` naming the reason.
    private func isolationAccount(owner: String, configured: String?) throws -> UnixAccount? {
        let isolation = configuration.isolation
        guard isolation.isolatesKernels else { return nil }
        if let gatewayAccount { return gatewayAccount }
        do {
            guard let name = try isolation.accountName(forUser: owner, configured: configured) else {
                throw KernelRuntimeError(
                    .isolation,
                    "user '\(owner)' has no Unix account to run kernels as (set unix_user in the users file or --unix-user-pattern)")
            }
            let account = try UnixAccount.lookup(name: name)
            try isolation.validate(account)
            return account
        } catch let error as KernelRuntimeError {
            throw ManagerError(.forbidden, error.message)
        }
    }

    /// Creates the kernel's private directory (owned by `account`), its ipc connection file and the isolated
    /// launch plan, and the kernel (not yet started). Everything created is removed again on failure.
    private func launchIsolated(id: String, spec: KernelSpec, owner: String, account: UnixAccount,
                                environment: KernelEnvironment) throws -> Kernel {
        let isolation = configuration.isolation
        let directory = isolation.kernelDirectory(for: id)
        let home: String
        do {
            home = try isolation.homeDirectory(forUser: owner, account: isolation.homeRoot == nil ? account : nil)
            try KernelDirectories.prepareHome(home, account: account)
            try KernelDirectories.createKernelDirectory(directory, account: account)
        } catch let error as KernelRuntimeError {
            throw ManagerError(.startFailed, error.message)
        }
        let info = ConnectionInfo(kernelName: spec.name, ipcPrefix: isolation.ipcPrefix(for: id))
        let path = FileSystem.join(directory, "connection.json")
        do {
            try ConnectionFileStore.writeNewFile(info, at: path, owner: account)
            let plan = try LaunchPlan.make(spec: spec, connectionFile: path, environment: environment,
                                           prefix: configuration.prefix, isExecutable: LaunchPlan.isExecutableFile)
                .isolated(isolation, account: account, home: home, kernelDirectory: directory,
                          resourceDirectory: spec.resourceDirectory,
                          hostPath: { SandboxCommand.inspect($0, reachableBy: account) })
            return try Kernel(id: id, spec: spec, owner: owner, info: info, connectionFile: path, plan: plan,
                              loop: group.next(), context: context, store: store, privateDirectory: directory,
                              lifecycle: lifecycleConfiguration(for: spec),
                              heartbeatInterval: configuration.heartbeatInterval, logger: logger) { [weak self] id in
                guard let self else { return }
                Task { await self.forget(id) }
            }
        } catch {
            KernelDirectories.removeTree(directory)
            throw ManagerError(.startFailed, "\(error)")
        }
    }

    private func lifecycleConfiguration(for spec: KernelSpec) -> KernelLifecycle.Configuration {
        var lifecycle = configuration.lifecycle
        lifecycle.interruptMode = spec.interruptMode
        return lifecycle
    }

    /// Shuts one kernel down and forgets it.
    /// - Throws: `ManagerError(.notFound)` for an unknown id.
    public func shutdownKernel(id: String, now: Bool = false) async throws {
        guard let kernel = kernels[id] else { throw ManagerError(.notFound, "no kernel \(id)") }
        await kernel.shutdown(now: now)
        // Forget it before returning (not only through the kernel's asynchronous notice), so a listing right
        // after a DELETE never shows it.
        forget(id)
    }

    /// Shuts every kernel down concurrently (gateway exit) and refuses new starts.
    public func shutdownAll(now: Bool = false) async {
        stopping = true
        let running = all
        await withTaskGroup(of: Void.self) { group in
            for kernel in running { group.addTask { await kernel.shutdown(now: now) } }
        }
    }

    private func forget(_ id: String) {
        if let allocated = portsByKernel.removeValue(forKey: id) { ports.release(allocated) }
        guard kernels.removeValue(forKey: id) != nil else { return }
        order.removeAll { $0 == id }
        for observer in observers { observer(.removed(id)) }
    }
}
