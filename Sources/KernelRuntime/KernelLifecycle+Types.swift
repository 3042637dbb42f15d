import Glibc

extension KernelLifecycle {
    /// Timings and limits. The defaults follow jupyter_client (shutdown grace, restart limit) and the
    /// gateway's own choices (startup timeout, restart delay).
    public struct Configuration: Sendable, Equatable {
        /// How interrupts are delivered (from the kernelspec).
        public var interruptMode: KernelSpec.InterruptMode
        /// How long a (re)started kernel may take to become ready before it is killed.
        public var startupTimeout: Duration
        /// How often `kernel_info_request` is re-sent while not ready (it also makes the kernel publish
        /// status on iopub, which is how a late iopub subscription gets its first message).
        public var kernelInfoRetryInterval: Duration
        /// Wait after `shutdown_request` before SIGTERM.
        public var shutdownGracePeriod: Duration
        /// Wait after SIGTERM before SIGKILL.
        public var terminateGracePeriod: Duration
        /// Wait after SIGKILL before giving up on seeing the process exit.
        public var killGracePeriod: Duration
        /// Whether kernels that die unexpectedly are restarted automatically.
        public var autoRestart: Bool
        /// Automatic restarts allowed in a row (jupyter_client's `restart_limit`): the failure after the
        /// `restartLimit`-th consecutive automatic restart leaves the kernel dead.
        public var restartLimit: Int
        /// A kernel that stays ready this long after a restart resets the consecutive-failure count.
        public var stableUptime: Duration
        /// Pause before an automatic restart; `.zero` restarts at once.
        public var restartDelay: Duration

        /// Creates a configuration; every parameter has the documented default.
        public init(
            interruptMode: KernelSpec.InterruptMode = .signal, startupTimeout: Duration = .seconds(60),
            kernelInfoRetryInterval: Duration = .seconds(1), shutdownGracePeriod: Duration = .milliseconds(2500),
            terminateGracePeriod: Duration = .milliseconds(2500), killGracePeriod: Duration = .seconds(5),
            autoRestart: Bool = true, restartLimit: Int = 5, stableUptime: Duration = .seconds(30),
            restartDelay: Duration = .milliseconds(500)
        ) {
            self.interruptMode = interruptMode
            self.startupTimeout = startupTimeout
            self.kernelInfoRetryInterval = kernelInfoRetryInterval
            self.shutdownGracePeriod = shutdownGracePeriod
            self.terminateGracePeriod = terminateGracePeriod
            self.killGracePeriod = killGracePeriod
            self.autoRestart = autoRestart
            self.restartLimit = restartLimit
            self.stableUptime = stableUptime
            self.restartDelay = restartDelay
        }
    }

    /// The `execution_state` of the Jupyter kernel model and of the iopub `status` messages sent to clients.
    public enum ExecutionState: String, Sendable, Equatable {
        case starting, idle, busy, restarting, dead
    }

    /// Why a process is being started.
    public enum StartKind: Sendable, Equatable {
        /// The first start of this kernel.
        case initial
        /// A restart asked for by a client (REST restart), or a restart of a dead kernel.
        case restart
        /// An automatic restart after the kernel died.
        case autoRestart
    }

    /// What happens once a stopping process has exited.
    public enum StopGoal: Sendable, Equatable {
        /// The kernel is being shut down for good.
        case shutdown
        /// A client asked for a restart: start a new process.
        case restart
        /// The process was killed because it failed (e.g. never became ready): treat as that failure.
        case recover(reason: String)
    }

    /// How far the shutdown escalation has gone.
    public enum StopStep: Sendable, Equatable {
        /// `shutdown_request` sent on control; waiting `shutdownGracePeriod`.
        case requested
        /// SIGTERM sent to the process group; waiting `terminateGracePeriod`.
        case terminated
        /// SIGKILL sent to the process group; waiting `killGracePeriod`.
        case killed
    }

    /// Progress towards readiness of a starting process.
    public struct Readiness: Sendable, Equatable {
        /// The reply to the lifecycle's `kernel_info_request` arrived on shell.
        public var kernelInfoReplied = false
        /// At least one iopub message arrived (the subscription is live).
        public var iopubSeen = false
        /// The last idle/busy status seen on iopub, used as the state once ready.
        public var lastStatus: ExecutionState?

        public init() {}
    }

    /// Where the kernel is in its life.
    public enum Phase: Sendable, Equatable {
        /// Created; `startRequested` not yet handled.
        case notStarted
        /// `spawn` was requested; waiting for `launched` or `spawnFailed`.
        case launching(StartKind)
        /// The process runs; waiting for readiness.
        case starting(StartKind, Readiness)
        /// Ready; the state is `.idle` or `.busy` from the kernel's iopub status.
        case running(ExecutionState)
        /// The process is being stopped (shutdown escalation).
        case stopping(StopStep, goal: StopGoal)
        /// The process died; an automatic restart is scheduled after `restartDelay`.
        case awaitingRestart
        /// No process and none coming: the start failed or the restart limit was reached. The kernel can still
        /// be restarted (by request) or shut down.
        case dead(reason: String)
        /// Shut down for good; terminal.
        case shutDown
    }

    /// How a process ended.
    public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
        case exited(code: Int32)
        case signaled(signal: Int32)

        public var description: String {
            switch self {
            case .exited(let code): return "exit status \(code)"
            case .signaled(let signal): return "killed by signal \(signal)"
            }
        }
    }

    /// The timers the lifecycle uses; at most one of each kind is armed at a time.
    public enum TimerKind: Sendable, Hashable, CaseIterable {
        case startup, kernelInfoRetry, stableUptime, shutdownGrace, terminateGrace, killGrace, restartDelay
    }

    /// A timer to start. Report its expiry with `.timerFired(kind, token:)`; a token that is no longer current
    /// is ignored, so an owner that cannot cancel in time is still correct.
    public struct Timer: Sendable, Equatable {
        public let kind: TimerKind
        public let token: UInt64
        public let delay: Duration
    }

    /// Signals sent to the kernel's process group.
    public enum KernelSignal: Sendable, Equatable {
        case interrupt, terminate, kill

        /// The POSIX signal number (SIGINT, SIGTERM, SIGKILL).
        public var number: Int32 {
            switch self {
            case .interrupt: return SIGINT
            case .terminate: return SIGTERM
            case .kill: return SIGKILL
            }
        }
    }

    /// The requests an owner makes on behalf of clients (named in `.reject`).
    public enum Request: Sendable, Equatable {
        case start, interrupt, restart, shutdown
    }

    /// What happened. Process events carry the generation of the `spawn` they answer; events of an older
    /// process are ignored.
    public enum Event: Sendable, Equatable {
        /// Start the kernel (once).
        case startRequested
        /// The process of `generation` was spawned (its sockets may be connected).
        case launched(generation: UInt64)
        /// The process of `generation` could not be spawned.
        case spawnFailed(generation: UInt64, reason: String)
        /// The reply to a `sendKernelInfoRequest` action arrived (not clients' kernel_info replies).
        case kernelInfoReplied
        /// Any iopub message arrived.
        case iopubSeen
        /// An iopub `status` message with this `execution_state` arrived (also counts as iopub seen).
        case statusMessage(executionState: String)
        /// The process of `generation` exited. Whether that was expected is decided by the lifecycle. `cause`, when
        /// known, says why in words (e.g. "out of memory: limit 2 GiB") and leads the failure reason.
        case processExited(generation: UInt64, status: ExitStatus, cause: String? = nil)
        /// A client asked for an interrupt.
        case interruptRequested
        /// A client asked for a restart.
        case restartRequested
        /// Shut the kernel down; `now` skips the `shutdown_request` and SIGTERM steps (gateway exit).
        case shutdownRequested(now: Bool)
        /// A timer started by `.startTimer` expired.
        case timerFired(TimerKind, token: UInt64)
    }

    /// What the owner must do, in order.
    public enum Action: Sendable, Equatable {
        /// Start a new kernel process (new process group), then report `launched`/`spawnFailed` with this
        /// generation. The connection file and ports stay the same across restarts.
        case spawn(generation: UInt64)
        /// Send `kernel_info_request` on shell and report its reply as `.kernelInfoReplied`.
        case sendKernelInfoRequest
        /// Send `shutdown_request {"restart": restart}` on control.
        case sendShutdownRequest(restart: Bool)
        /// Send `interrupt_request` on control (interrupt_mode `message`).
        case sendInterruptRequest
        /// Send this signal to the kernel's process group.
        case signal(KernelSignal)
        /// Start (or replace) the timer of this kind.
        case startTimer(Timer)
        /// Cancel the timer of this kind (optional: stale expiries are ignored anyway).
        case cancelTimer(TimerKind)
        /// The model's execution state changed; update it and, for `.restarting` / `.dead`, send clients an
        /// iopub `status` with that state (the kernel itself sends idle/busy/starting).
        case notifyObservers(ExecutionState)
        /// A start or restart completed: the kernel is ready for clients. Resume waiters with success. (Waiters
        /// resume with failure on `notifyObservers(.dead)` or `finished` instead.)
        case ready
        /// A request cannot be carried out in the current phase; answer the client with `reason`.
        case reject(Request, reason: String)
        /// Remove the kernel's connection file.
        case removeConnectionFile
        /// The kernel is shut down for good: close its sockets, release its ports, forget it.
        case finished
    }
}
