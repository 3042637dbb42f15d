import Basics
import CLinuxShim
import ChildProcesses
import ControlGroups
import EventLoop
import Glibc
import JupyterProtocol
import Logging

/// One running Jupyter kernel: its process and its five ZeroMQ sockets, owned by an actor pinned to one event
/// loop. Nothing else touches the kernel's sockets.
///
/// Control operations (`start`, `interrupt`, `restart`, `shutdown`) are async and drive the pure
/// `KernelLifecycle` state machine, carrying out the actions it returns. The message path is synchronous:
/// objects on the same loop call `send` through `assumeIsolated`, and every message the kernel sends is handed
/// to the `KernelMessageSink` on the loop thread, after its signature has been verified.
public actor Kernel {
    public nonisolated let id: String
    public nonisolated let spec: KernelSpec
    /// The user who started the kernel.
    public nonisolated let owner: String
    public nonisolated let loop: EventLoop
    public nonisolated let connectionFile: String
    /// The kernel's cgroup (limits, usage), or nil when the gateway runs without cgroups. Every process of the
    /// kernel joins it before exec; what is left in it when a process ends is killed.
    public nonisolated let cgroup: KernelCgroup?
    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

    /// Why a control request could not be carried out.
    public struct OperationError: Error, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// What happened to a message given to `send`.
    public enum SendResult: Sendable, Equatable {
        case sent
        /// The kernel's queue is full (it stopped reading); nothing was sent.
        case queueFull
        /// The kernel has no sockets (shut down, or never started).
        case notRunning
    }

    /// Counters for metrics; read on the loop.
    public struct Counters: Sendable {
        public var received = 0
        public var sent = 0
        public var badSignatures = 0
        public var malformed = 0
        public var restarts = 0
    }

    private let info: ConnectionInfo
    private let plan: LaunchPlan
    private let store: ConnectionFileStore
    /// The kernel's private directory under isolation (removed with everything in it), or nil.
    private let privateDirectory: String?
    /// Under isolation, the kernel's account: its ipc sockets must be listened on by that uid (`SO_PEERCRED`).
    private let socketOwnerUID: UInt32?
    private let logger: Logger
    private let onFinished: @Sendable (String) -> Void
    private let signer: HMACSigner
    private let sessionID = MessageID.random()

    private var lifecycle: KernelLifecycle
    private var sockets: KernelSockets?
    private var process: ChildProcess?
    private var timers: [KernelLifecycle.TimerKind: TimerHandle] = [:]
    private var ownRequests: Set<String> = []
    private var readyWaiters: [CheckedContinuation<Void, Error>] = []
    private var finishWaiters: [CheckedContinuation<Void, Never>] = []
    private var pendingEvents: [KernelLifecycle.Event] = []
    private var handlingEvents = false
    private var rejection: String?
    private var heartbeatPending = false
    private var heartbeatTimer: TimerHandle?
    /// Consecutive heartbeat pings the kernel did not answer within an interval (0 while it is responsive).
    public private(set) var missedHeartbeats = 0
    /// How often the heartbeat socket is pinged.
    public nonisolated let heartbeatInterval: Duration

    public private(set) var sink: (any KernelMessageSink)?
    /// Wall-clock time of the last message in either direction (the kernel model's `last_activity`).
    public private(set) var lastActivity = UTCTimestamp.now()
    public private(set) var counters = Counters()

    /// Creates the kernel; nothing runs until `start()`. The connection file must already exist at
    /// `connectionFile` (written by the manager with `info`).
    public init(id: String, spec: KernelSpec, owner: String, info: ConnectionInfo, connectionFile: String,
                plan: LaunchPlan, loop: EventLoop, store: ConnectionFileStore,
                privateDirectory: String? = nil, socketOwnerUID: UInt32? = nil, cgroup: KernelCgroup? = nil,
                lifecycle: KernelLifecycle.Configuration,
                heartbeatInterval: Duration = .seconds(5), logger: Logger,
                onFinished: @escaping @Sendable (String) -> Void) throws {
        self.heartbeatInterval = heartbeatInterval
        self.cgroup = cgroup
        self.id = id
        self.spec = spec
        self.owner = owner
        self.info = info
        self.connectionFile = connectionFile
        self.plan = plan
        self.loop = loop
        self.store = store
        self.privateDirectory = privateDirectory
        self.socketOwnerUID = socketOwnerUID
        self.onFinished = onFinished
        var logger = logger
        logger.metadata["kernel_id"] = id
        self.logger = logger
        self.lifecycle = KernelLifecycle(configuration: lifecycle)
        do {
            signer = try HMACSigner(key: Array(info.key.utf8))
        } catch {
            throw OperationError(message: "cannot create the message signer: \(error)")
        }
    }

    // MARK: - State

    /// The kernel model's `execution_state`.
    public var executionState: KernelLifecycle.ExecutionState { lifecycle.executionState }

    /// Why the kernel is dead (the model's `reason`), or nil while it is not.
    public var deathReason: String? { lifecycle.deathReason }

    /// Why the last process failed while the kernel restarts after it (see `KernelLifecycle.lastFailure`).
    public var failureReason: String? { lifecycle.lastFailure }

    /// The lifecycle phase (for diagnostics and tests).
    public var phase: KernelLifecycle.Phase { lifecycle.phase }

    /// The process id of the running kernel process, if any.
    public var pid: Int32? { process.flatMap { $0.isRunning ? $0.pid : nil } }

    /// Sets (or clears) the receiver of the kernel's messages.
    public func setSink(_ sink: (any KernelMessageSink)?) {
        self.sink = sink
    }

    // MARK: - Control operations

    /// Launches the process and returns once the kernel is ready (it answered kernel_info and iopub flows).
    /// - Throws: `OperationError` when it could not start or died before becoming ready.
    public func start() async throws {
        try await runUntilReady(.startRequested)
    }

    /// Restarts the kernel (same id, same connection file) and returns once it is ready again.
    public func restart() async throws {
        try await runUntilReady(.restartRequested)
    }

    /// Interrupts the current execution (SIGINT to the process group, or `interrupt_request` in message mode).
    public func interrupt() throws {
        rejection = nil
        feed(.interruptRequested)
        if let rejection { throw OperationError(message: rejection) }
    }

    /// Shuts the kernel down (shutdown_request, then SIGTERM, then SIGKILL to its group) and returns when the
    /// process is gone and the connection file removed. `now` skips the polite steps (gateway exit).
    public func shutdown(now: Bool = false) async {
        if case .shutDown = lifecycle.phase { return }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            finishWaiters.append(done)
            feed(.shutdownRequested(now: now))
        }
    }

    private func runUntilReady(_ event: KernelLifecycle.Event) async throws {
        rejection = nil
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, Error>) in
            readyWaiters.append(done)
            feed(event)
            if let rejection {
                self.rejection = nil
                failReadyWaiters(rejection)
            }
        }
    }

    // MARK: - Message path

    /// Signs and sends one message to the kernel on `channel` (shell, control or stdin). Never blocks.
    /// Call on the kernel's loop (from the same loop use `kernel.assumeIsolated { $0.send(...) }`).
    public func send(_ channel: Channel, parts: MessageParts) -> SendResult {
        guard let sockets, !lifecycle.isTerminating || channel == .control else { return .notRunning }
        guard channel == .shell || channel == .control || channel == .stdin else { return .notRunning }
        let socket = sockets.socket(for: channel)
        guard let signature = try? signer.sign(parts) else { return .notRunning }
        var first = true
        var accepted = true
        // The first frame decides (the high-water mark); the rest of an accepted message is always taken.
        ZMQFrames.forEachFrame(identities: [], signature: signature, parts: parts) { (frame: UnsafeRawBufferPointer, more: Bool) in
            guard accepted else { return }
            let ok = socket.send(frame, more: more)
            if first && !ok { accepted = false }
            first = false
        }
        guard accepted else { return .queueFull }
        counters.sent += 1
        lastActivity = UTCTimestamp.now()
        return .sent
    }

    /// Sends a message given as byte arrays (for control-path callers on other threads).
    public func send(_ channel: Channel, header: [UInt8], parentHeader: [UInt8] = Array("{}".utf8),
                     metadata: [UInt8] = Array("{}".utf8), content: [UInt8], buffers: [[UInt8]] = []) -> SendResult {
        header.withUnsafeBytes { h in
            parentHeader.withUnsafeBytes { p in
                metadata.withUnsafeBytes { m in
                    content.withUnsafeBytes { c in
                        withBufferPointers(buffers) { b in
                            send(channel, parts: MessageParts(header: h, parentHeader: p, metadata: m, content: c, buffers: b))
                        }
                    }
                }
            }
        }
    }

    // MARK: - Lifecycle driver

    private func feed(_ event: KernelLifecycle.Event) {
        pendingEvents.append(event)
        guard !handlingEvents else { return }
        handlingEvents = true
        while !pendingEvents.isEmpty {
            let next = pendingEvents.removeFirst()
            for action in lifecycle.handle(next) { perform(action) }
        }
        handlingEvents = false
        if case .dead(let reason) = lifecycle.phase, !readyWaiters.isEmpty {
            failReadyWaiters("kernel died: \(reason)")
        }
    }

    private func perform(_ action: KernelLifecycle.Action) {
        switch action {
        case .spawn(let generation):
            spawn(generation)
        case .sendKernelInfoRequest:
            sendOwnRequest("kernel_info_request", on: .shell, content: "{}")
        case .sendShutdownRequest(let restart):
            sendOwnRequest("shutdown_request", on: .control, content: restart ? #"{"restart":true}"# : #"{"restart":false}"#)
        case .sendInterruptRequest:
            sendOwnRequest("interrupt_request", on: .control, content: "{}")
        case .signal(let signal):
            process?.signalGroup(signal.number)
        case .startTimer(let timer):
            if let old = timers[timer.kind] { loop.cancelTimer(old) }
            let kind = timer.kind, token = timer.token
            timers[kind] = loop.scheduleTimer(after: timer.delay) { [self] in
                self.assumeIsolated { kernel in
                    kernel.timers[kind] = nil
                    kernel.feed(.timerFired(kind, token: token))
                }
            }
        case .cancelTimer(let kind):
            if let old = timers.removeValue(forKey: kind) { loop.cancelTimer(old) }
        case .notifyObservers(let state):
            if state == .restarting { counters.restarts += 1 }
            logger.info("kernel state changed", metadata: ["state": state.rawValue])
            sink?.kernel(id, didChangeState: state, reason: state == .dead ? lifecycle.deathReason : lifecycle.lastFailure)
        case .ready:
            startHeartbeat()
            ownRequests.removeAll()
            let waiters = readyWaiters
            readyWaiters.removeAll()
            for waiter in waiters { waiter.resume() }
        case .reject(_, let reason):
            rejection = reason
        case .removeConnectionFile:
            if let privateDirectory {
                if !KernelDirectories.removeTree(privateDirectory) {
                    logger.warning("kernel directory not fully removed", metadata: ["directory": privateDirectory])
                }
            } else {
                _ = store.remove(kernelID: id)
            }
        case .finished:
            finish()
        }
    }

    private func spawn(_ generation: UInt64) {
        var output: (read: Int32, write: Int32) = (-1, -1)
        defer { if output.write >= 0 { close(output.write) } }
        do {
            if sockets == nil {
                // The handler runs on the loop, the actor's executor; weak: the sockets belong to the kernel.
                sockets = try KernelSockets(loop: loop, info: info, identity: Array(sessionID.utf8),
                                            expectedPeerUID: socketOwnerUID) { [weak self] channel, frames in
                    self?.assumeIsolated { $0.handleIncoming(channel, frames) }
                }
            }
            output = try openOutputPipe()
            cgroup?.processStarting()
            process = try ChildProcess(path: plan.executablePath, arguments: plan.arguments,
                                       environment: plan.envp, loop: loop, standardOutput: output.write,
                                       standardError: output.write, identity: plan.identity,
                                       cgroupProcs: cgroup?.procsFiles ?? []) { [self] status in
                self.assumeIsolated { kernel in
                    kernel.logger.info("kernel process ended", metadata: ["status": "\(status)"])
                    let exit: KernelLifecycle.ExitStatus
                    switch status {
                    case .exited(let code): exit = .exited(code: code)
                    case .signaled(let signal): exit = .signaled(signal: signal)
                    }
                    // SIGKILL, or bubblewrap reporting its child's SIGKILL as 128 + 9.
                    let cause = kernel.cgroup?.processEnded(killed: status == .signaled(SIGKILL) || status == .exited(128 + SIGKILL))
                    kernel.feed(.processExited(generation: generation, status: exit, cause: cause))
                }
            }
            logger.info("kernel process started", metadata: ["pid": "\(process?.pid ?? 0)", "kernel_name": spec.name])
            watchOutput(output.read)
            output.read = -1
            pendingEvents.append(.launched(generation: generation))
        } catch {
            if output.read >= 0 { close(output.read) }
            logger.error("kernel process could not start", metadata: ["error": "\(error)"])
            pendingEvents.append(.spawnFailed(generation: generation, reason: "\(error)"))
        }
    }

    /// A pipe for the kernel's stdout and stderr (both ends close-on-exec; the spawn dup2s the write end onto 1
    /// and 2). Only the gateway's read end is non-blocking: the kernel's writes block like writes to a terminal.
    private func openOutputPipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard kg_pipe_cloexec(&fds) == 0 else { throw SystemError("pipe2") }
        guard kg_set_nonblocking(fds[0]) == 0 else {
            let error = SystemError("fcntl O_NONBLOCK")
            close(fds[0])
            close(fds[1])
            throw error
        }
        return (fds[0], fds[1])
    }

    /// Logs what the kernel writes, line by line, as escaped `kernel output` records (see `KernelOutputLines`),
    /// until every writer (the kernel and whatever it started) has closed the pipe.
    private func watchOutput(_ fd: Int32) {
        let reader = KernelOutputReader(fd: fd, loop: loop, logger: logger)
        do {
            try loop.register(fd: fd, events: EventLoop.readable) { _ in reader.drain() }
        } catch {
            close(fd)
        }
    }

    /// Pings the kernel's heartbeat socket every few seconds while a process runs. A kernel that stops answering
    /// is reported (log, `missedHeartbeats`); the process watcher, not the heartbeat, decides that it died.
    private func startHeartbeat() {
        guard heartbeatTimer == nil else { return }
        heartbeatTimer = loop.scheduleTimer(after: heartbeatInterval) { [self] in
            self.assumeIsolated { kernel in
                kernel.heartbeatTimer = nil
                kernel.heartbeatTick()
            }
        }
    }

    private func heartbeatTick() {
        guard let sockets, lifecycle.hasProcess, !lifecycle.isTerminating else { return }
        if heartbeatPending {
            missedHeartbeats += 1
            if missedHeartbeats == 2 {
                logger.warning("kernel is not answering heartbeats", metadata: ["missed": "\(missedHeartbeats)"])
            }
        }
        // The heartbeat socket sends a new ping even when the last one got no answer (it keeps at most one queued).
        let ping: [UInt8] = Array("ping".utf8)
        if ping.withUnsafeBytes({ sockets.heartbeat.send($0, more: false) }) {
            heartbeatPending = true
        }
        startHeartbeat()
    }

    private func finish() {
        if let heartbeatTimer { loop.cancelTimer(heartbeatTimer) }
        heartbeatTimer = nil
        for (_, handle) in timers { loop.cancelTimer(handle) }
        timers.removeAll()
        sockets?.close()
        sockets = nil
        failReadyWaiters("kernel was shut down")
        let waiters = finishWaiters
        finishWaiters.removeAll()
        for waiter in waiters { waiter.resume() }
        sink?.kernel(id, didChangeState: .dead, reason: nil)
        sink = nil
        onFinished(id)
    }

    private func failReadyWaiters(_ reason: String) {
        let waiters = readyWaiters
        readyWaiters.removeAll()
        for waiter in waiters { waiter.resume(throwing: OperationError(message: reason)) }
    }

    private func sendOwnRequest(_ msgType: String, on channel: Channel, content: StaticString) {
        let header = MessageHeader(msgType: msgType, username: "kernel-gateway", session: sessionID)
        let headerBytes = header.bytes
        ownRequests.insert(header.msgID)
        let result = headerBytes.withUnsafeBytes { h in
            content.withUTF8Buffer { c in
                send(channel, parts: MessageParts(header: h, content: UnsafeRawBufferPointer(c)))
            }
        }
        if result != .sent {
            logger.debug("could not send own request", metadata: ["msg_type": msgType, "result": "\(result)"])
        }
    }

    // MARK: - Receiving

    private func handleIncoming(_ channel: Channel, _ frames: [[UInt8]]) {
        if channel == .hb {
            heartbeatPending = false
            if missedHeartbeats >= 2 { logger.info("kernel answers heartbeats again") }
            missedHeartbeats = 0
            return
        }
        let layout: ZMQFrameLayout
        do { layout = try ZMQFrameLayout.parse(frames) } catch {
            counters.malformed += 1
            logger.debug("malformed message from kernel", metadata: ["channel": channel.rawValue, "error": "\(error)"])
            return
        }
        guard verify(frames, layout) else {
            counters.badSignatures += 1
            logger.warning("message from kernel with a bad signature dropped", metadata: ["channel": channel.rawValue])
            return
        }
        // The header is scanned once here; the sink gets the result, so the message path never scans it twice.
        guard let header = frames[layout.header].withUnsafeBytes({ try? HeaderFields.scan($0) }),
              header.msgID != nil, header.msgType != nil else {
            counters.malformed += 1
            logger.debug("message from kernel without msg_id or msg_type dropped", metadata: ["channel": channel.rawValue])
            return
        }
        counters.received += 1
        lastActivity = UTCTimestamp.now()
        if channel == .iopub {
            observeIopub(frames, layout, header)
        } else if !ownRequests.isEmpty, let parentID = parentMessageID(frames[layout.parentHeader]),
                  ownRequests.contains(parentID) {
            handleOwnReply(frames, layout, header, parentID: parentID)
            return
        }
        sink?.kernel(id, didReceive: channel, frames: frames, layout: layout, header: header)
    }

    private func verify(_ frames: [[UInt8]], _ layout: ZMQFrameLayout) -> Bool {
        guard signer.isEnabled else { return true }
        return frames[layout.signature].withUnsafeBytes { signature in
            frames[layout.header].withUnsafeBytes { header in
                frames[layout.parentHeader].withUnsafeBytes { parent in
                    frames[layout.metadata].withUnsafeBytes { metadata in
                        frames[layout.content].withUnsafeBytes { content in
                            signer.verify(signature, header: header, parentHeader: parent, metadata: metadata,
                                          content: content)
                        }
                    }
                }
            }
        }
    }

    private func parentMessageID(_ parent: [UInt8]) -> String? {
        parent.withUnsafeBytes { raw in
            guard let fields = try? HeaderFields.scan(raw), let token = fields.msgID else { return nil }
            return try? JSONScanner(raw).decodeString(token)
        }
    }

    private func handleOwnReply(_ frames: [[UInt8]], _ layout: ZMQFrameLayout, _ header: HeaderFields,
                                parentID: String) {
        ownRequests.remove(parentID)
        let isKernelInfo = frames[layout.header].withUnsafeBytes { raw -> Bool in
            guard let type = header.msgType else { return false }
            return JSONScanner(raw).string(type, equals: "kernel_info_reply")
        }
        if isKernelInfo { feed(.kernelInfoReplied) }
    }

    private func observeIopub(_ frames: [[UInt8]], _ layout: ZMQFrameLayout, _ header: HeaderFields) {
        let isStatus = frames[layout.header].withUnsafeBytes { raw -> Bool in
            guard let type = header.msgType else { return false }
            return JSONScanner(raw).string(type, equals: "status")
        }
        if isStatus, let state = frames[layout.content].withUnsafeBytes({ JSONScanner($0).stringMember("execution_state") }) {
            feed(.statusMessage(executionState: state))
        } else if !lifecycle.hasBeenReadyOrRunning {
            feed(.iopubSeen)
        }
    }
}

extension KernelLifecycle {
    /// True once the current process is ready (so `iopubSeen` carries no news).
    var hasBeenReadyOrRunning: Bool {
        if case .running = phase { return true }
        return false
    }
}

/// Calls `body` with raw views of every buffer (valid during the call).
func withBufferPointers<R>(_ buffers: [[UInt8]], _ body: ([UnsafeRawBufferPointer]) -> R) -> R {
    func step(_ index: Int, _ acc: [UnsafeRawBufferPointer]) -> R {
        if index == buffers.count { return body(acc) }
        return buffers[index].withUnsafeBytes { step(index + 1, acc + [$0]) }
    }
    return step(0, [])
}
