import Testing
@testable import KernelRuntime

private typealias L = KernelLifecycle

/// Drives a lifecycle the way the Kernel actor will, and keeps the last actions for assertions.
private struct Driver {
    var lifecycle: KernelLifecycle
    var last: [L.Action] = []

    init(_ configuration: L.Configuration = L.Configuration()) {
        lifecycle = KernelLifecycle(configuration: configuration)
    }

    @discardableResult
    mutating func send(_ event: L.Event) -> [L.Action] {
        last = lifecycle.handle(event)
        return last
    }

    /// Fires the currently armed timer of `kind`; fails the test when none is armed.
    @discardableResult
    mutating func fire(_ kind: L.TimerKind, sourceLocation: SourceLocation = #_sourceLocation) -> [L.Action] {
        guard let token = lifecycle.armedToken(kind) else {
            Issue.record("no \(kind) timer armed in \(lifecycle.phase)", sourceLocation: sourceLocation)
            return []
        }
        return send(.timerFired(kind, token: token))
    }

    var generation: UInt64 { lifecycle.generation }

    /// Starts and makes ready: start, launched, kernel_info reply, iopub status idle.
    mutating func startReady() {
        send(.startRequested)
        send(.launched(generation: generation))
        send(.kernelInfoReplied)
        send(.statusMessage(executionState: "idle"))
    }

    /// Makes the current starting process ready.
    mutating func becomeReady() {
        send(.launched(generation: generation))
        send(.kernelInfoReplied)
        send(.statusMessage(executionState: "idle"))
    }

    @discardableResult
    mutating func crash(_ status: L.ExitStatus = .signaled(signal: 9)) -> [L.Action] {
        send(.processExited(generation: generation, status: status))
    }
}

private func timers(_ actions: [L.Action]) -> [L.TimerKind: Duration] {
    var result: [L.TimerKind: Duration] = [:]
    for case .startTimer(let timer) in actions { result[timer.kind] = timer.delay }
    return result
}

private func notifications(_ actions: [L.Action]) -> [L.ExecutionState] {
    actions.compactMap { if case .notifyObservers(let state) = $0 { return state } else { return nil } }
}

private func withoutTimers(_ actions: [L.Action]) -> [L.Action] {
    actions.filter {
        switch $0 {
        case .startTimer, .cancelTimer: return false
        default: return true
        }
    }
}

private func isDead(_ phase: L.Phase) -> Bool {
    if case .dead = phase { return true }
    return false
}

@Suite struct KernelLifecycleStartTests {
    @Test func startSpawnsArmsStartupTimerAndReportsStarting() {
        var d = Driver()
        #expect(d.lifecycle.phase == .notStarted)
        let actions = d.send(.startRequested)
        #expect(actions.contains(.spawn(generation: 1)))
        #expect(timers(actions) == [.startup: .seconds(60)])
        #expect(d.lifecycle.phase == .launching(.initial))
        #expect(d.lifecycle.executionState == .starting)
    }

    @Test func launchedSendsKernelInfoAndArmsRetry() {
        var d = Driver()
        d.send(.startRequested)
        let actions = d.send(.launched(generation: 1))
        #expect(withoutTimers(actions) == [.sendKernelInfoRequest])
        #expect(timers(actions) == [.kernelInfoRetry: .seconds(1)])
        #expect(d.lifecycle.hasProcess)
        #expect(d.lifecycle.phase == .starting(.initial, L.Readiness()))
    }

    @Test func readyNeedsBothKernelInfoReplyAndIopub() {
        var d = Driver()
        d.send(.startRequested)
        d.send(.launched(generation: 1))
        #expect(!d.send(.kernelInfoReplied).contains(.ready))
        let actions = d.send(.iopubSeen)
        #expect(actions.contains(.ready))
        #expect(actions.contains(.cancelTimer(.startup)))
        #expect(actions.contains(.cancelTimer(.kernelInfoRetry)))
        #expect(notifications(actions) == [.idle])
        #expect(d.lifecycle.phase == .running(.idle))
        #expect(d.lifecycle.hasBeenReady)
    }

    @Test func iopubBeforeKernelInfoReplyIsNotReadyYet() {
        var d = Driver()
        d.send(.startRequested)
        d.send(.launched(generation: 1))
        #expect(!d.send(.statusMessage(executionState: "busy")).contains(.ready))
        let actions = d.send(.kernelInfoReplied)
        #expect(actions.contains(.ready))
        // The last status seen while starting becomes the running state.
        #expect(d.lifecycle.phase == .running(.busy))
        #expect(notifications(actions) == [.busy])
    }

    @Test func kernelInfoIsResentUntilReady() {
        var d = Driver()
        d.send(.startRequested)
        d.send(.launched(generation: 1))
        d.send(.kernelInfoReplied)
        // Reply seen but no iopub yet (slow joiner): the retry re-sends so the kernel publishes status again.
        let retry = d.fire(.kernelInfoRetry)
        #expect(withoutTimers(retry) == [.sendKernelInfoRequest])
        #expect(timers(retry) == [.kernelInfoRetry: .seconds(1)])
        d.send(.iopubSeen)
        #expect(d.lifecycle.armedToken(.kernelInfoRetry) == nil)
    }

    @Test func staleTimerTokensAreIgnored() {
        var d = Driver()
        d.send(.startRequested)
        d.send(.launched(generation: 1))
        guard let old = d.lifecycle.armedToken(.kernelInfoRetry) else {
            Issue.record("retry timer not armed")
            return
        }
        d.fire(.kernelInfoRetry)  // re-arms with a new token
        #expect(d.send(.timerFired(.kernelInfoRetry, token: old)).isEmpty)
        d.send(.kernelInfoReplied)
        d.send(.iopubSeen)
        // A retry expiry after readiness (token now unknown) does nothing.
        #expect(d.send(.timerFired(.kernelInfoRetry, token: old + 1)).isEmpty)
        #expect(d.lifecycle.phase == .running(.idle))
    }

    @Test func secondStartIsRejected() {
        var d = Driver()
        d.startReady()
        let actions = d.send(.startRequested)
        #expect(actions.count == 1)
        guard case .reject(.start, _)? = actions.first else {
            Issue.record("expected reject, got \(actions)")
            return
        }
    }

    @Test func initialSpawnFailureIsDeadWithReason() {
        var d = Driver()
        d.send(.startRequested)
        let actions = d.send(.spawnFailed(generation: 1, reason: "No such file or directory"))
        #expect(notifications(actions) == [.dead])
        #expect(!actions.contains { if case .spawn = $0 { return true } else { return false } })
        guard case .dead(let reason) = d.lifecycle.phase else {
            Issue.record("expected dead, got \(d.lifecycle.phase)")
            return
        }
        #expect(reason.contains("No such file or directory"))
    }

    @Test func initialExitBeforeReadyIsDeadNotRestarted() {
        var d = Driver()
        d.send(.startRequested)
        d.send(.launched(generation: 1))
        let actions = d.crash(.exited(code: 1))
        #expect(notifications(actions) == [.dead])
        #expect(actions.contains(.cancelTimer(.startup)))
        guard case .dead(let reason) = d.lifecycle.phase else {
            Issue.record("expected dead")
            return
        }
        #expect(reason.contains("exit status 1"))
        #expect(d.lifecycle.consecutiveFailures == 0)
    }

    @Test func startupTimeoutKillsThenDeclaresDead() {
        var d = Driver(L.Configuration(startupTimeout: .seconds(5)))
        d.send(.startRequested)
        d.send(.launched(generation: 1))
        let kill = d.fire(.startup)
        #expect(withoutTimers(kill) == [.signal(.kill)])
        #expect(timers(kill) == [.killGrace: .seconds(5)])
        let exit = d.crash()
        guard case .dead(let reason) = d.lifecycle.phase else {
            Issue.record("expected dead, got \(d.lifecycle.phase)")
            return
        }
        #expect(reason.contains("within 5 s"))
        #expect(notifications(exit) == [.dead])
    }

    @Test func eventsOfOtherGenerationsAreIgnored() {
        var d = Driver()
        d.send(.startRequested)
        #expect(d.send(.launched(generation: 7)).isEmpty)
        #expect(d.lifecycle.phase == .launching(.initial))
        d.send(.launched(generation: 1))
        #expect(d.send(.processExited(generation: 0, status: .exited(code: 0))).isEmpty)
        #expect(d.lifecycle.hasProcess)
    }

    @Test func idleBusyTransitionsNotifyOnlyOnChange() {
        var d = Driver()
        d.startReady()
        #expect(notifications(d.send(.statusMessage(executionState: "busy"))) == [.busy])
        #expect(d.send(.statusMessage(executionState: "busy")).isEmpty)
        #expect(d.send(.statusMessage(executionState: "starting")).isEmpty)
        #expect(d.send(.statusMessage(executionState: "nonsense")).isEmpty)
        #expect(notifications(d.send(.statusMessage(executionState: "idle"))) == [.idle])
        #expect(d.lifecycle.executionState == .idle)
        // Late kernel_info replies and iopub traffic change nothing once running.
        #expect(d.send(.kernelInfoReplied).isEmpty)
        #expect(d.send(.iopubSeen).isEmpty)
    }
}

@Suite struct KernelLifecycleShutdownTests {
    @Test func gracefulShutdownWhenKernelExitsInTime() {
        var d = Driver()
        d.startReady()
        let request = d.send(.shutdownRequested(now: false))
        #expect(withoutTimers(request) == [.sendShutdownRequest(restart: false)])
        #expect(timers(request) == [.shutdownGrace: .milliseconds(2500)])
        #expect(d.lifecycle.phase == .stopping(.requested, goal: .shutdown))
        #expect(d.lifecycle.isTerminating)
        let exit = d.crash(.exited(code: 0))
        #expect(exit.contains(.cancelTimer(.shutdownGrace)))
        #expect(withoutTimers(exit) == [.notifyObservers(.dead), .removeConnectionFile, .finished])
        #expect(d.lifecycle.phase == .shutDown)
    }

    @Test func shutdownEscalatesToTermThenKill() {
        var d = Driver()
        d.startReady()
        d.send(.shutdownRequested(now: false))
        let term = d.fire(.shutdownGrace)
        #expect(withoutTimers(term) == [.signal(.terminate)])
        #expect(timers(term) == [.terminateGrace: .milliseconds(2500)])
        #expect(d.lifecycle.phase == .stopping(.terminated, goal: .shutdown))
        let kill = d.fire(.terminateGrace)
        #expect(withoutTimers(kill) == [.signal(.kill)])
        #expect(timers(kill) == [.killGrace: .seconds(5)])
        let exit = d.crash()
        #expect(withoutTimers(exit) == [.notifyObservers(.dead), .removeConnectionFile, .finished])
    }

    @Test func processIgnoringKillIsGivenUpOn() {
        var d = Driver()
        d.startReady()
        d.send(.shutdownRequested(now: false))
        d.fire(.shutdownGrace)
        d.fire(.terminateGrace)
        let giveUp = d.fire(.killGrace)
        #expect(withoutTimers(giveUp) == [.notifyObservers(.dead), .removeConnectionFile, .finished])
        #expect(!d.lifecycle.hasProcess)
        // Its eventual exit is ignored.
        #expect(d.crash().isEmpty)
    }

    @Test func immediateShutdownKillsAtOnce() {
        var d = Driver()
        d.startReady()
        let actions = d.send(.shutdownRequested(now: true))
        #expect(withoutTimers(actions) == [.signal(.kill)])
        #expect(d.lifecycle.phase == .stopping(.killed, goal: .shutdown))
    }

    @Test func immediateShutdownEscalatesAGracefulOne() {
        var d = Driver()
        d.startReady()
        d.send(.shutdownRequested(now: false))
        let actions = d.send(.shutdownRequested(now: true))
        #expect(withoutTimers(actions) == [.signal(.kill)])
        #expect(actions.contains(.cancelTimer(.shutdownGrace)))
        // Repeating either request changes nothing now.
        #expect(d.send(.shutdownRequested(now: true)).isEmpty)
        #expect(d.send(.shutdownRequested(now: false)).isEmpty)
    }

    @Test func shutdownWhileStartingUsesTheSameEscalation() {
        var d = Driver()
        d.send(.startRequested)
        d.send(.launched(generation: 1))
        let actions = d.send(.shutdownRequested(now: false))
        #expect(withoutTimers(actions) == [.sendShutdownRequest(restart: false)])
        #expect(actions.contains(.cancelTimer(.startup)))
        #expect(actions.contains(.cancelTimer(.kernelInfoRetry)))
        // A kernel_info reply arriving now does not make it ready.
        #expect(d.send(.kernelInfoReplied).isEmpty)
        #expect(d.send(.iopubSeen).isEmpty)
    }

    @Test func shutdownDuringLaunchWaitsForTheSpawnOutcome() {
        var d = Driver()
        d.send(.startRequested)
        #expect(d.send(.shutdownRequested(now: false)).isEmpty)
        #expect(d.lifecycle.isTerminating)
        let launched = d.send(.launched(generation: 1))
        #expect(withoutTimers(launched) == [.sendShutdownRequest(restart: false)])
        #expect(!launched.contains(.sendKernelInfoRequest))
        #expect(d.lifecycle.phase == .stopping(.requested, goal: .shutdown))
    }

    @Test func shutdownDuringLaunchWithFailedSpawnFinishes() {
        var d = Driver()
        d.send(.startRequested)
        d.send(.shutdownRequested(now: true))
        let actions = d.send(.spawnFailed(generation: 1, reason: "ENOENT"))
        #expect(withoutTimers(actions) == [.notifyObservers(.dead), .removeConnectionFile, .finished])
    }

    @Test func shutdownOfDeadOrUnstartedKernelFinishesAtOnce() {
        var unstarted = Driver()
        #expect(withoutTimers(unstarted.send(.shutdownRequested(now: false))) == [.notifyObservers(.dead), .removeConnectionFile, .finished])

        var dead = Driver()
        dead.send(.startRequested)
        dead.send(.spawnFailed(generation: 1, reason: "x"))
        #expect(withoutTimers(dead.send(.shutdownRequested(now: false))) == [.removeConnectionFile, .finished])
        #expect(dead.lifecycle.phase == .shutDown)
        // Idempotent afterwards.
        #expect(dead.send(.shutdownRequested(now: false)).isEmpty)
    }

    @Test func shutdownDuringRestartDelayCancelsTheRestart() {
        var d = Driver()
        d.startReady()
        _ = d.crash()
        #expect(d.lifecycle.phase == .awaitingRestart)
        let actions = d.send(.shutdownRequested(now: false))
        #expect(actions.contains(.cancelTimer(.restartDelay)))
        #expect(actions.contains(.finished))
        #expect(d.lifecycle.armedToken(.restartDelay) == nil)
    }

    @Test func shutdownTakesOverARestartInProgress() {
        var d = Driver()
        d.startReady()
        d.send(.restartRequested)
        #expect(d.send(.shutdownRequested(now: false)).isEmpty)
        #expect(d.lifecycle.phase == .stopping(.requested, goal: .shutdown))
        let exit = d.crash(.exited(code: 0))
        #expect(exit.contains(.finished))
        #expect(!exit.contains { if case .spawn = $0 { return true } else { return false } })
    }

    @Test func requestsAfterShutdownAreRejected() {
        var d = Driver()
        d.startReady()
        d.send(.shutdownRequested(now: false))
        guard case .reject(.restart, let reason)? = d.send(.restartRequested).first else {
            Issue.record("restart during shutdown must be rejected")
            return
        }
        #expect(reason.contains("shutting down"))
        guard case .reject(.interrupt, _)? = d.send(.interruptRequested).first else {
            Issue.record("interrupt during shutdown must be rejected")
            return
        }
        d.crash()
        guard case .reject(.restart, _)? = d.send(.restartRequested).first else {
            Issue.record("restart after shutdown must be rejected")
            return
        }
    }
}

@Suite struct KernelLifecycleRestartTests {
    @Test func clientRestartShutsDownThenRespawnsSameKernel() {
        var d = Driver()
        d.startReady()
        let request = d.send(.restartRequested)
        #expect(withoutTimers(request) == [.notifyObservers(.restarting), .sendShutdownRequest(restart: true)])
        #expect(d.lifecycle.phase == .stopping(.requested, goal: .restart))
        let exit = d.crash(.exited(code: 0))
        #expect(exit.contains(.spawn(generation: 2)))
        #expect(!exit.contains(.finished) && !exit.contains(.removeConnectionFile))
        #expect(d.lifecycle.phase == .launching(.restart))
        d.send(.launched(generation: 2))
        d.send(.kernelInfoReplied)
        let ready = d.send(.statusMessage(executionState: "idle"))
        #expect(ready.contains(.ready))
        #expect(notifications(ready) == [.idle])
    }

    @Test func failedClientRestartOfAWorkingKernelIsAutoRestarted() {
        var d = Driver(L.Configuration(restartDelay: .zero))
        d.startReady()
        d.send(.restartRequested)
        d.crash(.exited(code: 0))
        d.send(.launched(generation: 2))
        let death = d.crash(.exited(code: 1))
        #expect(death.contains(.spawn(generation: 3)))
        #expect(d.lifecycle.consecutiveFailures == 1)
        #expect(d.lifecycle.executionState == .restarting)
        #expect(d.lifecycle.deathReason == nil)
    }

    @Test func clientRestartEscalatesLikeShutdown() {
        var d = Driver()
        d.startReady()
        d.send(.restartRequested)
        #expect(withoutTimers(d.fire(.shutdownGrace)) == [.signal(.terminate)])
        #expect(withoutTimers(d.fire(.terminateGrace)) == [.signal(.kill)])
        #expect(d.crash().contains(.spawn(generation: 2)))
    }

    @Test func repeatedRestartRequestsJoinTheRestartInProgress() {
        var d = Driver()
        d.startReady()
        d.send(.restartRequested)
        #expect(d.send(.restartRequested).isEmpty)
        d.crash()
        #expect(d.send(.restartRequested).isEmpty)  // launching: a fresh process is already coming
        #expect(d.lifecycle.phase == .launching(.restart))
    }

    @Test func restartOfDeadKernelSpawnsAgain() {
        var d = Driver()
        d.send(.startRequested)
        d.send(.spawnFailed(generation: 1, reason: "x"))
        let actions = d.send(.restartRequested)
        #expect(withoutTimers(actions) == [.notifyObservers(.restarting), .spawn(generation: 2)])
        d.becomeReady()
        #expect(d.last.contains(.ready))
        #expect(d.lifecycle.phase == .running(.idle))
    }

    @Test func restartBeforeStartIsRejected() {
        var d = Driver()
        guard case .reject(.restart, _)? = d.send(.restartRequested).first else {
            Issue.record("expected reject")
            return
        }
        #expect(d.lifecycle.phase == .notStarted)
    }

    @Test func restartDuringStartupTimeoutKillBecomesAClientRestart() {
        var d = Driver()
        d.startReady()
        _ = d.crash()
        d.fire(.restartDelay)
        d.send(.launched(generation: 2))
        d.fire(.startup)  // never became ready: killed, will count as a failure...
        #expect(d.lifecycle.phase == .stopping(.killed, goal: .recover(reason: "kernel did not become ready within 60 s")))
        d.send(.restartRequested)  // ...unless a client restarts it meanwhile
        #expect(d.lifecycle.phase == .stopping(.killed, goal: .restart))
        let exit = d.crash()
        #expect(exit.contains(.spawn(generation: 3)))
        #expect(d.lifecycle.consecutiveFailures == 0)
    }
}

@Suite struct KernelLifecycleAutoRestartTests {
    @Test func unexpectedDeathRestartsAfterDelayAndTellsClients() {
        var d = Driver()
        d.startReady()
        let death = d.crash(.signaled(signal: 11))
        #expect(withoutTimers(death) == [.notifyObservers(.restarting)])
        #expect(timers(death)[.restartDelay] == .milliseconds(500))
        #expect(d.lifecycle.consecutiveFailures == 1)
        let respawn = d.fire(.restartDelay)
        #expect(withoutTimers(respawn) == [.spawn(generation: 2)])
        #expect(d.lifecycle.phase == .launching(.autoRestart))
        d.becomeReady()
        #expect(d.last.contains(.ready))
        #expect(timers(d.last)[.stableUptime] == .seconds(30))
    }

    @Test func zeroDelayRestartsImmediately() {
        var d = Driver(L.Configuration(restartDelay: .zero))
        d.startReady()
        let death = d.crash()
        #expect(withoutTimers(death) == [.notifyObservers(.restarting), .spawn(generation: 2)])
    }

    @Test func giveUpAfterRestartLimitConsecutiveFailures() {
        var d = Driver(L.Configuration(restartLimit: 5, restartDelay: .zero))
        d.startReady()
        // Five automatic restarts are allowed; each new process dies before becoming ready.
        for attempt in 1...5 {
            let actions = d.crash()
            #expect(actions.contains(.spawn(generation: UInt64(attempt + 1))), "restart \(attempt)")
            #expect(d.lifecycle.consecutiveFailures == attempt)
            d.send(.launched(generation: d.generation))
        }
        let final = d.crash(.exited(code: 3))
        #expect(notifications(final) == [.dead])
        #expect(!final.contains { if case .spawn = $0 { return true } else { return false } })
        guard case .dead(let reason) = d.lifecycle.phase else {
            Issue.record("expected dead, got \(d.lifecycle.phase)")
            return
        }
        #expect(reason.contains("6 times"))
        #expect(d.lifecycle.deathReason == reason)
        #expect(reason.contains("exit status 3"))
        #expect(!final.contains(.removeConnectionFile))  // a dead kernel can still be restarted by a client
    }

    @Test func spawnFailuresDuringAutoRestartCount() {
        var d = Driver(L.Configuration(restartLimit: 2, restartDelay: .zero))
        d.startReady()
        _ = d.crash()
        d.send(.spawnFailed(generation: 2, reason: "EAGAIN"))
        #expect(d.lifecycle.consecutiveFailures == 2)
        #expect(d.last.contains(.spawn(generation: 3)))
        d.send(.spawnFailed(generation: 3, reason: "EAGAIN"))
        #expect(isDead(d.lifecycle.phase))
    }

    @Test func startupTimeoutDuringAutoRestartCountsAsFailure() {
        var d = Driver(L.Configuration(restartDelay: .zero))
        d.startReady()
        _ = d.crash()
        d.send(.launched(generation: 2))
        d.fire(.startup)
        let exit = d.crash()
        #expect(d.lifecycle.consecutiveFailures == 2)
        #expect(exit.contains(.spawn(generation: 3)))
    }

    @Test func stableUptimeResetsTheFailureCount() {
        var d = Driver(L.Configuration(restartLimit: 2, restartDelay: .zero))
        d.startReady()
        _ = d.crash()
        d.becomeReady()
        _ = d.crash()
        #expect(d.lifecycle.consecutiveFailures == 2)
        d.becomeReady()
        d.fire(.stableUptime)
        #expect(d.lifecycle.consecutiveFailures == 0)
        // The limit applies afresh: two more deaths are restarted, the third is not.
        _ = d.crash()
        d.becomeReady()
        _ = d.crash()
        #expect(!isDead(d.lifecycle.phase))
        d.send(.launched(generation: d.generation))
        _ = d.crash()
        #expect(isDead(d.lifecycle.phase))
    }

    @Test func deathBeforeStableUptimeKeepsTheCount() {
        var d = Driver(L.Configuration(restartDelay: .zero))
        d.startReady()
        _ = d.crash()
        d.becomeReady()
        guard let token = d.lifecycle.armedToken(.stableUptime) else {
            Issue.record("stable timer not armed")
            return
        }
        let death = d.crash()
        #expect(death.contains(.cancelTimer(.stableUptime)))
        #expect(d.send(.timerFired(.stableUptime, token: token)).isEmpty)
        #expect(d.lifecycle.consecutiveFailures == 2)
    }

    @Test func clientRestartResetsTheFailureCount() {
        var d = Driver(L.Configuration(restartDelay: .zero))
        d.startReady()
        _ = d.crash()
        d.becomeReady()
        #expect(d.lifecycle.consecutiveFailures == 1)
        d.send(.restartRequested)
        #expect(d.lifecycle.consecutiveFailures == 0)
    }

    @Test func clientRestartDuringRestartDelaySpawnsNow() {
        var d = Driver()
        d.startReady()
        _ = d.crash()
        let actions = d.send(.restartRequested)
        #expect(actions.contains(.cancelTimer(.restartDelay)))
        #expect(actions.contains(.spawn(generation: 2)))
        #expect(d.lifecycle.phase == .launching(.restart))
        #expect(d.lifecycle.consecutiveFailures == 0)
    }

    @Test func autoRestartCanBeDisabled() {
        var d = Driver(L.Configuration(autoRestart: false))
        d.startReady()
        let death = d.crash()
        #expect(notifications(death) == [.dead])
        #expect(isDead(d.lifecycle.phase))
    }

    @Test func failedClientRestartOfNeverReadyKernelStaysDead() {
        var d = Driver()
        d.send(.startRequested)
        d.send(.spawnFailed(generation: 1, reason: "x"))
        d.send(.restartRequested)
        d.send(.launched(generation: 2))
        _ = d.crash(.exited(code: 1))
        #expect(isDead(d.lifecycle.phase))
        #expect(d.lifecycle.consecutiveFailures == 0)
    }
}

@Suite struct KernelLifecycleInterruptTests {
    @Test func signalModeSendsSigintToTheGroup() {
        var d = Driver(L.Configuration(interruptMode: .signal))
        d.startReady()
        #expect(d.send(.interruptRequested) == [.signal(.interrupt)])
        #expect(L.KernelSignal.interrupt.number == 2)
        #expect(L.KernelSignal.terminate.number == 15)
        #expect(L.KernelSignal.kill.number == 9)
    }

    @Test func messageModeSendsInterruptRequest() {
        var d = Driver(L.Configuration(interruptMode: .message))
        d.startReady()
        #expect(d.send(.interruptRequested) == [.sendInterruptRequest])
    }

    @Test func interruptWhileStartingIsDelivered() {
        var d = Driver()
        d.send(.startRequested)
        d.send(.launched(generation: 1))
        #expect(d.send(.interruptRequested) == [.signal(.interrupt)])
    }

    @Test func interruptWithoutProcessIsRejected() {
        for setup in [0, 1, 2] {
            var d = Driver()
            switch setup {
            case 0: break  // not started
            case 1: d.send(.startRequested)  // launching
            default:
                d.send(.startRequested)
                d.send(.spawnFailed(generation: 1, reason: "x"))  // dead
            }
            let actions = d.send(.interruptRequested)
            guard case .reject(.interrupt, let reason)? = actions.first, actions.count == 1 else {
                Issue.record("expected a rejection in setup \(setup), got \(actions)")
                continue
            }
            #expect(!reason.isEmpty)
        }
    }
}

@Suite struct KernelLifecycleTimerHygieneTests {
    /// Walks a long scenario and checks that at every step at most the expected timers are armed.
    @Test func onlyPhaseRelevantTimersStayArmed() {
        var d = Driver(L.Configuration(restartDelay: .milliseconds(100)))
        func armedKinds() -> Set<L.TimerKind> {
            Set(L.TimerKind.allCases.filter { d.lifecycle.armedToken($0) != nil })
        }
        d.send(.startRequested)
        #expect(armedKinds() == [.startup])
        d.send(.launched(generation: 1))
        #expect(armedKinds() == [.startup, .kernelInfoRetry])
        d.send(.kernelInfoReplied)
        d.send(.iopubSeen)
        #expect(armedKinds().isEmpty)
        _ = d.crash()
        #expect(armedKinds() == [.restartDelay])
        d.fire(.restartDelay)
        #expect(armedKinds() == [.startup])
        d.becomeReady()
        #expect(armedKinds() == [.stableUptime])
        d.send(.shutdownRequested(now: false))
        #expect(armedKinds() == [.shutdownGrace])
        d.fire(.shutdownGrace)
        #expect(armedKinds() == [.terminateGrace])
        d.fire(.terminateGrace)
        #expect(armedKinds() == [.killGrace])
        _ = d.crash()
        #expect(armedKinds().isEmpty)
        #expect(d.lifecycle.phase == .shutDown)
    }

    @Test func durationsAreDescribedReadably() {
        #expect(KernelLifecycle.describe(.seconds(60)) == "60 s")
        #expect(KernelLifecycle.describe(.milliseconds(2500)) == "2.5 s")
        #expect(KernelLifecycle.describe(.milliseconds(250)) == "250 ms")
    }
}

/// A death with a known cause (an OOM kill by the kernel's memory limit) follows the rules of any crash; the
/// cause leads the reason, which `lastFailure` keeps while the kernel restarts.
@Suite struct KernelLifecycleFailureCauseTests {
    @Test func causeLeadsTheReasonAndTheRestartRulesStay() {
        var d = Driver(L.Configuration(restartLimit: 1, restartDelay: .zero))
        d.startReady()
        #expect(d.lifecycle.lastFailure == nil)
        let oom = "out of memory: limit 2 GiB"
        let first = d.send(.processExited(generation: d.generation, status: .signaled(signal: 9), cause: oom))
        #expect(notifications(first) == [.restarting])
        #expect(d.lifecycle.lastFailure == "out of memory: limit 2 GiB (kernel killed by signal 9)")
        d.becomeReady()
        #expect(d.lifecycle.lastFailure == nil, "cleared once a process is ready again")
        let last = d.send(.processExited(generation: d.generation, status: .signaled(signal: 9), cause: oom))
        #expect(notifications(last) == [.dead])
        #expect(d.lifecycle.deathReason?.contains("last failure: out of memory: limit 2 GiB") == true)
    }

    @Test func causeBeforeReadyAndWithoutAutoRestart() {
        var d = Driver(L.Configuration(autoRestart: false))
        d.send(.startRequested)
        d.send(.launched(generation: d.generation))
        d.send(.processExited(generation: d.generation, status: .exited(code: 137), cause: "out of memory: limit 64 MiB"))
        #expect(d.lifecycle.deathReason == "out of memory: limit 64 MiB (kernel exit status 137 before becoming ready)")
    }

    @Test func aClientRestartClearsTheFailure() {
        var d = Driver(L.Configuration(restartDelay: .seconds(1)))
        d.startReady()
        d.crash()
        #expect(d.lifecycle.lastFailure == "kernel died unexpectedly (killed by signal 9)")
        d.send(.restartRequested)
        #expect(d.lifecycle.lastFailure == nil)
    }
}
