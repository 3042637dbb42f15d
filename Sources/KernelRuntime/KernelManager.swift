import ControlGroups
import EventLoop
import ResourceLimits
import Foundation
import JupyterProtocol
import Logging
import JSONValue
import Synchronization

/// Starts, lists, finds and stops kernels; spreads them over the event loops; shuts them all down when the
/// gateway stops. Safe to call from any task.
///
/// It keeps the one table of running kernels (`KernelTable`, behind a `Mutex`). Each entry carries an
/// `Attachment`: what the manager's user keeps per kernel (the gateway's channel hub and access grants), made by
/// `startKernel`'s `attach` before the kernel becomes visible, and handed back once to `onRemove` when the kernel
/// leaves the table. Lookups (`entry(id:)`, `all`, `count`) and start counting (`beginStart`, `endStart`) are
/// synchronous and nonisolated; starting and stopping run on the actor.
public actor KernelManager<Attachment: Sendable> {
    /// Everything the manager needs to launch kernels.
    public typealias Configuration = KernelManagerConfiguration
    /// One running kernel and its attachment.
    public typealias Entry = KernelEntry<Attachment>

    /// The loops kernels are spread over.
    public nonisolated let group: EventLoopGroup
    private let configuration: Configuration
    private let store: ConnectionFileStore
    private let ports = LoopbackPortAllocator.shared
    private let logger: Logger
    /// The kernelspecs new kernels start from (see `reloadKernelSpecs`).
    public private(set) var catalog: KernelSpecCatalog
    /// The running kernels and the starts in flight; read from any thread.
    private let table = Mutex(KernelTable<Entry>())
    private let onRemove: @Sendable (Entry) -> Void
    /// Kernels launched by a start in progress, not in the table yet (reached by `shutdownAll`; a kernel that
    /// finishes meanwhile leaves it, so its start does not enter it).
    private var launching: [String: Kernel] = [:]
    private var portsByKernel: [String: [Int]] = [:]
    private var cgroupsByKernel: [String: KernelCgroup] = [:]

    /// The gateway's own account: what sandboxed kernels run as when the gateway is not root.
    private let gatewayAccount: UnixAccount?

    /// Discovers the kernelspecs; starts nothing.
    /// - Parameter onRemove: called once for every entry that leaves the table (shut down, or finished on its own),
    ///   right after it left, on the manager's actor; it must not block.
    public init(group: EventLoopGroup, configuration: Configuration, logger: Logger,
                onRemove: @escaping @Sendable (Entry) -> Void = { _ in }) {
        self.group = group
        self.configuration = configuration
        self.logger = logger
        self.onRemove = onRemove
        gatewayAccount = configuration.isolation.isolatesKernels && geteuid() != 0 ? UnixAccount.current() : nil
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

    // MARK: - The table (any thread, no hop)

    /// The running kernels in start order.
    public nonisolated var all: [Entry] { table.withLock { $0.all } }

    /// How many kernels are running (starts in flight not included).
    public nonisolated var count: Int { table.withLock { $0.count } }

    /// The running kernel with this id.
    public nonisolated func entry(id: String) -> Entry? { table.withLock { $0.entry(id: id) } }

    /// Counts a start for `owner` from now on; its `ownedKernelCount` is the owner's running kernels plus their
    /// other starts in flight, for a per-user limit. `mayUseReserve`: the start may take the slots of `maxKernels`
    /// kept for admins (`reservedKernels`). Pass it to `startKernel`, and `endStart` it when the start is refused
    /// before that (deferring `endStart` is fine: it does nothing once the start ended).
    public nonisolated func beginStart(owner: String, mayUseReserve: Bool = false) -> KernelStart {
        table.withLock { $0.beginStart(owner: owner, mayUseReserve: mayUseReserve) }
    }

    /// Stops counting `start` (refused, or done). Does nothing for a start that already ended.
    public nonisolated func endStart(_ start: KernelStart) { table.withLock { $0.endStart(start) } }

    // MARK: - Starting

    /// Starts a kernel from the kernelspec `name` (or the default) for `start.owner`, attaches `attach`'s value
    /// to it, and returns its entry once it is ready and in the table. `start` ends here either way.
    /// - Parameters:
    ///   - clientEnvironment: the request's `env`; only valid `KERNEL_*` variables are used.
    ///   - forcedEnvironment: variables the gateway sets and clients cannot override (e.g. `KERNEL_USERNAME`).
    ///   - unixUser: the owner's `unix_user` from the users file (isolation maps through the pattern otherwise).
    ///   - limits: the caller's part of the limit resolution, the owner's role ceilings and what the request asked
    ///     for; the manager fills in the gateway's and the kernelspec's limits (see `LimitResolution`).
    ///   - attach: called once on the ready kernel, before anyone else can find it. If the start then fails after
    ///     all (the kernel finished meanwhile, or the gateway is stopping), the attachment is dropped unused.
    /// - Throws: `KernelManagerError` with a code saying why (`.forbidden` when isolation refuses the owner,
    ///   `.aboveResourceLimit` when the request asks for more than its limits allow, `.invalidRequest` for a
    ///   malformed limit, `.limitReached` at `maxKernels`, `.reservedForAdmins` when only the reserved slots are
    ///   left for a start that may not use them, `.shuttingDown` after `shutdownAll`, `.startFailed` when limits
    ///   apply but no cgroup can enforce them).
    public func startKernel(_ start: KernelStart, name: String?, clientEnvironment: [String: JSONValue] = [:],
                            forcedEnvironment: [String: String] = [:], unixUser: String? = nil,
                            limits: LimitResolution = LimitResolution(),
                            attach: @Sendable (Kernel) async -> Attachment) async throws -> Entry {
        defer { endStart(start) }
        let owner = start.owner
        let (maxKernels, reserved) = (configuration.maxKernels, configuration.reservedKernels)
        try table.withLock { try $0.admit(start, maxKernels: maxKernels, reserved: reserved) }
        guard let specName = name ?? catalog.defaultName else {
            throw KernelManagerError(.unknownKernelSpec, "no kernel name given and no default kernelspec")
        }
        let spec: KernelSpec
        do { spec = try catalog.spec(named: specName) } catch {
            throw KernelManagerError(.unknownKernelSpec, "no such kernelspec: \(specName)")
        }
        let account = try isolationAccount(owner: owner, configured: unixUser)
        let resolved = try resolveLimits(limits, spec: spec)
        // Ports are found by binding port 0 and closing; another process can take one before the kernel binds it.
        // A kernel that dies before it is ready is therefore tried again with fresh ports and a fresh id (a broken
        // kernel fails the same way each time, so this costs it two quick extra attempts). The start stays admitted
        // (counted against `maxKernels`) through every attempt.
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
                throw KernelManagerError(.invalidRequest, error.message)
            }
            let cgroup = try prepareCgroup(id: id, owner: owner, limits: resolved)
            do {
                if let account {
                    kernel = try launchIsolated(id: id, spec: spec, owner: owner, account: account, environment: environment,
                                                cgroup: cgroup)
                } else {
                    kernel = try launchOnce(id: id, spec: spec, owner: owner, environment: environment, cgroup: cgroup)
                }
            } catch {
                if let cgroup, let cgroups = configuration.cgroups { await cgroups.release(cgroup) }
                throw error
            }
            if let cgroup { cgroupsByKernel[id] = cgroup }
            launching[id] = kernel
            do {
                try await kernel.start()
                break
            } catch {
                logger.warning("kernel failed to start", metadata: ["kernel_id": id, "attempt": "\(attempt)", "error": "\(error)"])
                await kernel.shutdown(now: true)
                forget(id)
                if attempt >= 3 || table.withLock({ $0.isClosed }) {
                    throw KernelManagerError(.startFailed, "kernel \(spec.name) failed to start: \(error)")
                }
            }
        }
        let id = kernel.id
        let attachment = await attach(kernel)
        // The actor was free during the awaits: the kernel may have finished (`forget` took it out of `launching`).
        guard launching.removeValue(forKey: id) != nil else {
            throw KernelManagerError(.startFailed, "kernel \(spec.name) stopped right after it started")
        }
        let entry = Entry(kernel: kernel, attachment: attachment)
        do {
            try table.withLock { try $0.insert(start, id: id, value: entry) }
        } catch {
            // `shutdownAll` closed the table meanwhile.
            await kernel.shutdown(now: true)
            forget(id)
            throw error
        }
        logger.info("kernel started", metadata: ["kernel_id": id, "kernel_name": spec.name, "owner": owner])
        return entry
    }

    /// The limits of a new kernel of `spec` and of its owner's kernels (`LimitResolution`), checked against what
    /// the cgroups can enforce.
    private func resolveLimits(_ limits: LimitResolution, spec: KernelSpec) throws -> LimitResolution.Resolved {
        var resolution = limits
        resolution.gatewayKernel = configuration.kernelLimits
        resolution.gatewayUser = configuration.userLimits
        resolution.kernelspec = spec.limits
        let resolved: LimitResolution.Resolved
        do throws(LimitError) { resolved = try resolution.resolve() } catch {
            throw KernelManagerError(error.code == .aboveAllowed ? .aboveResourceLimit : .invalidRequest, error.message)
        }
        guard let cgroups = configuration.cgroups else {
            if !resolved.kernel.isEmpty || !resolved.user.isEmpty {
                throw KernelManagerError(
                    .startFailed,
                    "kernel \(spec.name) has resource limits (kernel: \(resolved.kernel); user: \(resolved.user)) but the gateway has no writable cgroup hierarchy to enforce them")
            }
            return resolved
        }
        do throws(CgroupError) {
            try cgroups.check(resolved.kernel)
            try cgroups.check(resolved.user)
        } catch {
            throw KernelManagerError(.startFailed, "kernel \(spec.name): \(error.message)")
        }
        return resolved
    }

    /// The cgroup of a new kernel, or nil when the gateway runs without cgroups.
    private func prepareCgroup(id: String, owner: String, limits: LimitResolution.Resolved) throws -> KernelCgroup? {
        guard let cgroups = configuration.cgroups else { return nil }
        do throws(CgroupError) {
            return try cgroups.prepareKernel(id: id, owner: owner, limits: limits)
        } catch {
            throw KernelManagerError(.startFailed, "cannot create the kernel's cgroup: \(error.message)")
        }
    }

    /// Allocates ports, writes the connection file and creates the kernel (not yet started).
    private func launchOnce(id: String, spec: KernelSpec, owner: String, environment: KernelEnvironment,
                            cgroup: KernelCgroup?) throws -> Kernel {
        let allocated: [Int]
        do { allocated = try ports.allocate(count: 5) } catch {
            throw KernelManagerError(.startFailed, "cannot allocate ports: \(error)")
        }
        let info = ConnectionInfo(kernelName: spec.name, ports: allocated)
        let path: String
        do { path = try store.write(info, kernelID: id) } catch {
            ports.release(allocated)
            throw KernelManagerError(.startFailed, "cannot write the connection file: \(error)")
        }
        let plan: LaunchPlan
        do {
            plan = try LaunchPlan.make(spec: spec, connectionFile: path, environment: environment,
                                       prefix: configuration.prefix, isExecutable: LaunchPlan.isExecutableFile)
        } catch {
            _ = store.remove(kernelID: id)
            ports.release(allocated)
            throw KernelManagerError(.startFailed, "\(error)")
        }
        do {
            let kernel = try Kernel(id: id, spec: spec, owner: owner, info: info, connectionFile: path, plan: plan,
                                    loop: group.next(), store: store, cgroup: cgroup,
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
            throw KernelManagerError(.startFailed, "\(error)")
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
            throw KernelManagerError(.forbidden, error.message)
        }
    }

    /// Creates the kernel's private directory (owned by `account`), its ipc connection file and the isolated
    /// launch plan, and the kernel (not yet started). Everything created is removed again on failure.
    private func launchIsolated(id: String, spec: KernelSpec, owner: String, account: UnixAccount,
                                environment: KernelEnvironment, cgroup: KernelCgroup?) throws -> Kernel {
        let isolation = configuration.isolation
        let directory = isolation.kernelDirectory(for: id)
        let home: String
        do {
            home = try isolation.homeDirectory(forUser: owner, account: isolation.homeRoot == nil ? account : nil)
            try KernelDirectories.prepareHome(home, account: account)
            try KernelDirectories.createKernelDirectory(directory, account: account)
        } catch let error as KernelRuntimeError {
            throw KernelManagerError(.startFailed, error.message)
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
                              loop: group.next(), store: store, privateDirectory: directory, socketOwnerUID: account.uid,
                              cgroup: cgroup, lifecycle: lifecycleConfiguration(for: spec),
                              heartbeatInterval: configuration.heartbeatInterval, logger: logger) { [weak self] id in
                guard let self else { return }
                Task { await self.forget(id) }
            }
        } catch {
            KernelDirectories.removeTree(directory)
            throw KernelManagerError(.startFailed, "\(error)")
        }
    }

    private func lifecycleConfiguration(for spec: KernelSpec) -> KernelLifecycle.Configuration {
        var lifecycle = configuration.lifecycle
        lifecycle.interruptMode = spec.interruptMode
        return lifecycle
    }

    // MARK: - Stopping

    /// Shuts one kernel down and removes it from the table before returning (not only through the kernel's
    /// asynchronous notice), so a listing right after a DELETE never shows it.
    /// - Throws: `KernelManagerError(.notFound)` for an id not in the table.
    public func shutdownKernel(id: String, now: Bool = false) async throws {
        guard let kernel = entry(id: id)?.kernel else { throw KernelManagerError(.notFound, "no kernel \(id)") }
        await kernel.shutdown(now: now)
        forget(id)
    }

    /// Refuses new starts and shuts every kernel down concurrently, those still starting included (gateway exit).
    /// Entries leave the table as their kernels finish.
    public func shutdownAll(now: Bool = false) async {
        let running = table.withLock { table in
            table.close()
            return table.all.map(\.kernel)
        } + launching.values
        await withTaskGroup(of: Void.self) { group in
            for kernel in running { group.addTask { await kernel.shutdown(now: now) } }
        }
    }

    /// Releases the kernel's ports and cgroup (in the background: leftovers are killed and waited for) and takes it out of the table (handing the entry to `onRemove`) or out of the
    /// starts in progress. Safe to call more than once: only the first call finds it.
    private func forget(_ id: String) {
        if let allocated = portsByKernel.removeValue(forKey: id) { ports.release(allocated) }
        if let cgroup = cgroupsByKernel.removeValue(forKey: id), let cgroups = configuration.cgroups {
            Task { await cgroups.release(cgroup) }
        }
        launching.removeValue(forKey: id)
        guard let entry = table.withLock({ $0.remove(id: id) }) else { return }
        onRemove(entry)
    }
}

extension KernelManager where Attachment == Void {
    /// Starts a kernel with nothing attached (tests, tools): `startKernel(_:name:...)` with a start of its own.
    /// - Throws: `KernelManagerError`, as `startKernel(_:name:...)`.
    public func startKernel(name: String?, owner: String, clientEnvironment: [String: JSONValue] = [:],
                            forcedEnvironment: [String: String] = [:], unixUser: String? = nil) async throws -> Entry {
        try await startKernel(beginStart(owner: owner), name: name, clientEnvironment: clientEnvironment,
                              forcedEnvironment: forcedEnvironment, unixUser: unixUser, attach: { _ in })
    }
}
