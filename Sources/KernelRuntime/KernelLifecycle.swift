/// The kernel lifecycle as a pure state machine: events in, actions out, no I/O and no clock.
///
/// The `Kernel` actor owns one value, feeds it every relevant event (process spawned/exited, kernel_info
/// reply, iopub traffic, client requests, timer expiries) and carries out the returned actions in order.
/// Events produced while carrying out actions (e.g. `launched` right after `spawn`) must be fed after the
/// whole action list has been performed.
///
/// Rules it implements (see PROTOCOL.md section 2):
/// - Ready = the reply to our `kernel_info_request` arrived AND at least one iopub message was seen; the request
///   is re-sent every `kernelInfoRetryInterval` until then; `startupTimeout` without readiness kills the process.
/// - Shutdown: `shutdown_request` → `shutdownGracePeriod` → SIGTERM → `terminateGracePeriod` → SIGKILL →
///   `killGracePeriod` → the process is given up on. Restart is the same with `restart: true`, then a new spawn.
/// - A process that dies when not being stopped is a failure. A kernel that has never been ready is not
///   restarted: it becomes `.dead` (so a bad kernelspec fails the start request quickly). Otherwise it is
///   restarted automatically, at most `restartLimit` times in a row; the next failure leaves it `.dead`. Staying
///   ready for `stableUptime` after a restart, or a client restart, resets the count.
/// - Interrupt: SIGINT to the group (`signal` mode) or `interrupt_request` on control (`message` mode), only
///   while a process runs.
public struct KernelLifecycle: Sendable {
    /// The timings and limits in force.
    public let configuration: Configuration
    /// The current phase.
    public private(set) var phase: Phase = .notStarted
    /// The kernel model's `execution_state`.
    public private(set) var executionState: ExecutionState = .starting
    /// Failures since the last stable period or client restart.
    public private(set) var consecutiveFailures = 0
    /// The generation of the newest `spawn` (0 before the first).
    public private(set) var generation: UInt64 = 0
    /// Whether the kernel has ever been ready.
    public private(set) var hasBeenReady = false
    /// Why the last process failed (crash, OOM kill, startup timeout) while the kernel recovers from it: set by a
    /// failure, cleared when a process becomes ready or a client asks for a restart. With `deathReason`, what the
    /// kernel model and the `restarting`/`dead` status messages report.
    public private(set) var lastFailure: String?

    private var processRunning = false
    private var armed: [TimerKind: UInt64] = [:]
    private var nextToken: UInt64 = 0
    /// A shutdown asked for while a spawn was in flight: (now) flag, applied when the spawn outcome arrives.
    private var pendingShutdown: Bool?

    /// Creates a lifecycle in `.notStarted`.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Whether a kernel process is believed to be running (between `launched` and its exit).
    public var hasProcess: Bool { processRunning }

    /// Whether the kernel is being shut down for good or already is.
    public var isTerminating: Bool {
        switch phase {
        case .stopping(_, goal: .shutdown), .shutDown: return true
        default: return pendingShutdown != nil
        }
    }

    /// Why the kernel is dead (for the model's `reason`), or nil when it is not in `.dead`.
    public var deathReason: String? {
        if case .dead(let reason) = phase { return reason }
        return nil
    }

    /// The token of the armed timer of `kind`, if any (for owners and tests).
    public func armedToken(_ kind: TimerKind) -> UInt64? { armed[kind] }

    /// Applies `event` and returns the actions to perform, in order.
    public mutating func handle(_ event: Event) -> [Action] {
        var actions: [Action] = []
        switch event {
        case .startRequested:
            onStartRequested(&actions)
        case .launched(let generation):
            guard generation == self.generation else { break }
            onLaunched(&actions)
        case .spawnFailed(let generation, let reason):
            guard generation == self.generation else { break }
            onSpawnFailed(reason: reason, &actions)
        case .kernelInfoReplied:
            updateReadiness(&actions) { $0.kernelInfoReplied = true }
        case .iopubSeen:
            updateReadiness(&actions) { $0.iopubSeen = true }
        case .statusMessage(let raw):
            onStatus(raw, &actions)
        case .processExited(let generation, let status, let cause):
            guard generation == self.generation, processRunning else { break }
            onProcessExited(status, cause: cause, &actions)
        case .interruptRequested:
            onInterrupt(&actions)
        case .restartRequested:
            onRestartRequested(&actions)
        case .shutdownRequested(let now):
            onShutdownRequested(now: now, &actions)
        case .timerFired(let kind, let token):
            guard armed[kind] == token else { break }
            armed[kind] = nil
            onTimer(kind, &actions)
        }
        return actions
    }

    // MARK: - Event handlers

    private mutating func onStartRequested(_ actions: inout [Action]) {
        guard case .notStarted = phase else {
            actions.append(.reject(.start, reason: "kernel has already been started"))
            return
        }
        setExecutionState(.starting, &actions)
        spawn(.initial, &actions)
    }

    private mutating func onLaunched(_ actions: inout [Action]) {
        guard case .launching(let kind) = phase else { return }
        processRunning = true
        phase = .starting(kind, Readiness())
        if let now = pendingShutdown {
            pendingShutdown = nil
            beginStop(goal: .shutdown, now: now, &actions)
            return
        }
        actions.append(.sendKernelInfoRequest)
        arm(.kernelInfoRetry, after: configuration.kernelInfoRetryInterval, &actions)
    }

    private mutating func onSpawnFailed(reason: String, _ actions: inout [Action]) {
        guard case .launching = phase else { return }
        disarm(.startup, &actions)
        if pendingShutdown != nil {
            pendingShutdown = nil
            finishShutdown(&actions)
            return
        }
        fail("could not start the kernel process: \(reason)", &actions)
    }

    private mutating func updateReadiness(_ actions: inout [Action], _ change: (inout Readiness) -> Void) {
        guard case .starting(let kind, var readiness) = phase else { return }
        change(&readiness)
        phase = .starting(kind, readiness)
        guard readiness.kernelInfoReplied && readiness.iopubSeen else { return }
        disarm(.startup, &actions)
        disarm(.kernelInfoRetry, &actions)
        hasBeenReady = true
        lastFailure = nil
        let state = readiness.lastStatus ?? .idle
        phase = .running(state)
        setExecutionState(state, &actions)
        actions.append(.ready)
        if consecutiveFailures > 0 {
            arm(.stableUptime, after: configuration.stableUptime, &actions)
        }
    }

    private mutating func onStatus(_ raw: String, _ actions: inout [Action]) {
        let state: ExecutionState?
        switch raw {
        case "idle": state = .idle
        case "busy": state = .busy
        default: state = nil  // "starting" and unknown values do not change a ready kernel's state
        }
        switch phase {
        case .starting:
            updateReadiness(&actions) { readiness in
                readiness.iopubSeen = true
                if let state { readiness.lastStatus = state }
            }
        case .running(let current):
            guard let state, state != current else { return }
            phase = .running(state)
            setExecutionState(state, &actions)
        default:
            return
        }
    }

    private mutating func onProcessExited(_ status: ExitStatus, cause: String?, _ actions: inout [Action]) {
        processRunning = false
        disarmProcessTimers(&actions)
        switch phase {
        case .starting:
            fail(cause.map { "\($0) (kernel \(status) before becoming ready)" } ?? "kernel exited before becoming ready (\(status))", &actions)
        case .running:
            fail(cause.map { "\($0) (kernel \(status))" } ?? "kernel died unexpectedly (\(status))", &actions)
        case .stopping(_, let goal):
            completeStop(goal, &actions)
        case .notStarted, .launching, .awaitingRestart, .dead, .shutDown:
            return  // no process was expected in these phases; nothing to update
        }
    }

    private mutating func onInterrupt(_ actions: inout [Action]) {
        switch phase {
        case .starting, .running:
            switch configuration.interruptMode {
            case .signal: actions.append(.signal(.interrupt))
            case .message: actions.append(.sendInterruptRequest)
            }
        default:
            actions.append(.reject(.interrupt, reason: "kernel cannot be interrupted while \(phaseDescription)"))
        }
    }

    private mutating func onRestartRequested(_ actions: inout [Action]) {
        if !isTerminating, phase != .notStarted { lastFailure = nil }
        switch phase {
        case .notStarted:
            actions.append(.reject(.restart, reason: "kernel has not been started"))
        case .shutDown, .stopping(_, goal: .shutdown):
            actions.append(.reject(.restart, reason: "kernel is shutting down"))
        case _ where pendingShutdown != nil:
            actions.append(.reject(.restart, reason: "kernel is shutting down"))
        case .launching:
            consecutiveFailures = 0  // a fresh process is already on its way
        case .stopping(let step, goal: .recover):
            consecutiveFailures = 0
            phase = .stopping(step, goal: .restart)
            setExecutionState(.restarting, &actions)
        case .stopping(_, goal: .restart):
            consecutiveFailures = 0
        case .starting, .running:
            consecutiveFailures = 0
            setExecutionState(.restarting, &actions)
            beginStop(goal: .restart, now: false, &actions)
        case .awaitingRestart, .dead:
            consecutiveFailures = 0
            disarm(.restartDelay, &actions)
            setExecutionState(.restarting, &actions)
            spawn(.restart, &actions)
        }
    }

    private mutating func onShutdownRequested(now: Bool, _ actions: inout [Action]) {
        switch phase {
        case .shutDown:
            return
        case .launching:
            pendingShutdown = (pendingShutdown ?? false) || now
        case .starting, .running:
            beginStop(goal: .shutdown, now: now, &actions)
        case .stopping(let step, _):
            phase = .stopping(step, goal: .shutdown)
            if now && step != .killed {
                disarmProcessTimers(&actions)
                kill(goal: .shutdown, &actions)
            }
        case .notStarted, .awaitingRestart, .dead:
            disarmAll(&actions)
            finishShutdown(&actions)
        }
    }

    private mutating func onTimer(_ kind: TimerKind, _ actions: inout [Action]) {
        switch (kind, phase) {
        case (.startup, .starting):
            disarm(.kernelInfoRetry, &actions)
            kill(goal: .recover(reason: "kernel did not become ready within \(Self.describe(configuration.startupTimeout))"), &actions)
        case (.kernelInfoRetry, .starting):
            actions.append(.sendKernelInfoRequest)
            arm(.kernelInfoRetry, after: configuration.kernelInfoRetryInterval, &actions)
        case (.stableUptime, .running):
            consecutiveFailures = 0
        case (.shutdownGrace, .stopping(.requested, let goal)):
            actions.append(.signal(.terminate))
            phase = .stopping(.terminated, goal: goal)
            arm(.terminateGrace, after: configuration.terminateGracePeriod, &actions)
        case (.terminateGrace, .stopping(.terminated, let goal)):
            kill(goal: goal, &actions)
        case (.killGrace, .stopping(.killed, let goal)):
            // The process ignored SIGKILL (e.g. stuck in the kernel): stop tracking it so the kernel can
            // move on; the generation bump on the next spawn makes its eventual exit event stale.
            processRunning = false
            completeStop(goal, &actions)
        case (.restartDelay, .awaitingRestart):
            spawn(.autoRestart, &actions)
        default:
            return  // the phase moved on; the timer no longer means anything
        }
    }

    // MARK: - Steps

    private mutating func spawn(_ kind: StartKind, _ actions: inout [Action]) {
        generation += 1
        phase = .launching(kind)
        arm(.startup, after: configuration.startupTimeout, &actions)
        actions.append(.spawn(generation: generation))
    }

    private mutating func beginStop(goal: StopGoal, now: Bool, _ actions: inout [Action]) {
        disarmProcessTimers(&actions)
        if now {
            kill(goal: goal, &actions)
            return
        }
        let restart: Bool
        if case .restart = goal { restart = true } else { restart = false }
        actions.append(.sendShutdownRequest(restart: restart))
        phase = .stopping(.requested, goal: goal)
        arm(.shutdownGrace, after: configuration.shutdownGracePeriod, &actions)
    }

    private mutating func kill(goal: StopGoal, _ actions: inout [Action]) {
        actions.append(.signal(.kill))
        phase = .stopping(.killed, goal: goal)
        arm(.killGrace, after: configuration.killGracePeriod, &actions)
    }

    private mutating func completeStop(_ goal: StopGoal, _ actions: inout [Action]) {
        disarmProcessTimers(&actions)
        switch goal {
        case .shutdown:
            finishShutdown(&actions)
        case .restart:
            spawn(.restart, &actions)
        case .recover(let reason):
            fail(reason, &actions)
        }
    }

    /// The process is gone (or never started) because something went wrong.
    private mutating func fail(_ reason: String, _ actions: inout [Action]) {
        disarmProcessTimers(&actions)
        lastFailure = reason
        guard hasBeenReady else {
            die(reason, &actions)
            return
        }
        guard configuration.autoRestart else {
            die(reason, &actions)
            return
        }
        consecutiveFailures += 1
        guard consecutiveFailures <= configuration.restartLimit else {
            die(
                "kernel failed \(consecutiveFailures) times in a row; not restarting it again (last failure: \(reason))",
                &actions)
            return
        }
        setExecutionState(.restarting, &actions)
        if configuration.restartDelay <= .zero {
            spawn(.autoRestart, &actions)
        } else {
            phase = .awaitingRestart
            arm(.restartDelay, after: configuration.restartDelay, &actions)
        }
    }

    private mutating func die(_ reason: String, _ actions: inout [Action]) {
        phase = .dead(reason: reason)
        setExecutionState(.dead, &actions)
    }

    private mutating func finishShutdown(_ actions: inout [Action]) {
        phase = .shutDown
        processRunning = false
        setExecutionState(.dead, &actions)
        actions.append(.removeConnectionFile)
        actions.append(.finished)
    }

    // MARK: - Helpers

    private mutating func setExecutionState(_ state: ExecutionState, _ actions: inout [Action]) {
        guard state != executionState else { return }
        executionState = state
        actions.append(.notifyObservers(state))
    }

    private mutating func arm(_ kind: TimerKind, after delay: Duration, _ actions: inout [Action]) {
        nextToken += 1
        armed[kind] = nextToken
        actions.append(.startTimer(Timer(kind: kind, token: nextToken, delay: delay)))
    }

    private mutating func disarm(_ kind: TimerKind, _ actions: inout [Action]) {
        guard armed.removeValue(forKey: kind) != nil else { return }
        actions.append(.cancelTimer(kind))
    }

    /// Cancels the timers tied to the current process (everything but the restart delay).
    private mutating func disarmProcessTimers(_ actions: inout [Action]) {
        for kind in TimerKind.allCases where kind != .restartDelay { disarm(kind, &actions) }
    }

    private mutating func disarmAll(_ actions: inout [Action]) {
        for kind in TimerKind.allCases { disarm(kind, &actions) }
    }

    private var phaseDescription: String {
        switch phase {
        case .notStarted: return "not started"
        case .launching: return "launching"
        case .starting: return "starting"
        case .running: return "running"
        case .stopping(_, goal: .shutdown): return "shutting down"
        case .stopping: return "restarting"
        case .awaitingRestart: return "waiting to restart"
        case .dead: return "dead"
        case .shutDown: return "shut down"
        }
    }

    /// "60 s", "2.5 s", "250 ms".
    static func describe(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000) s" }
        if milliseconds < 1000 { return "\(milliseconds) ms" }
        return "\(Double(milliseconds) / 1000) s"
    }
}
