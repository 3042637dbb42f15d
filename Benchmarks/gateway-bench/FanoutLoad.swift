import EventLoop
import Foundation

/// `--mode fanout --clients M`: M clients on one kernel; client 0 executes `--code`, and each round measures the
/// time from just before the request was queued until the LAST client has seen the first output message
/// (stream / execute_result / display_data) of that request. Rounds run back to back (the next starts when every
/// client has seen the output and the executor has its reply and idle), `--rounds` of them, or until `--seconds`.
enum FanoutLoad {
    static func run(_ session: LoadSession) -> LoadReport {
        let o = session.options
        var report = LoadReport(mode: "fanout", label: o.label, [
            "url": session.url.description, "kernel": o.kernelName, "clients": o.clients, "protocol": o.wire.rawValue,
        ])

        guard let kernel = session.startOneKernel(reporting: &report) else { return report }
        let control = RunControl()
        let state = RoundState()
        let executorSession = "f\(session.runID)-0"
        let clients = (0..<o.clients).map { i in
            ObserverClient(index: i, loop: session.loop(i), url: session.url, kernelID: kernel.id, token: kernel.token,
                           wire: o.wire, control: control, state: state, target: .output,
                           executorSession: executorSession, session: "f\(session.runID)-\(i)")
        }
        let sockets = clients.map(\.socket)
        guard session.connectAll(sockets, control: control, reporting: &report) else { return report }
        let executor = clients[0]
        let content = RequestEncoder.executeContent(code: o.code)
        var allSeen: [UInt64] = []
        var firstSeen: [UInt64] = []
        var errors = 0
        let server0 = o.serverPID.flatMap { ProcessStats.read(pid: $0) }
        let s0 = control.snapshot
        let began = Monotonic.now
        let deadline = o.seconds.map { began &+ UInt64($0 * 1e9) }
        // Two unmeasured rounds first: every client's first message path is warm.
        for seq in 0..<UInt64(o.rounds + 2) {
            if let deadline, Monotonic.now > deadline { break }
            state.reset(seq)
            executor.socket.loop.execute { executor.send(msgType: "execute_request", content: content, seq: seq) }
            let complete = waitUntil(deadline: Monotonic.now &+ 30_000_000_000) {
                state.seen.load(ordering: .sequentiallyConsistent) >= clients.count
                    && state.executorReplied.load(ordering: .sequentiallyConsistent)
                    && state.executorIdle.load(ordering: .sequentiallyConsistent)
            }
            guard complete else {
                errors += 1
                report.set("error_sample", "round \(seq): \(state.seen.load(ordering: .relaxed)) of \(clients.count) clients saw the output within 30 s")
                break
            }
            if seq < 2 { continue }
            let sent = state.sentAt.load(ordering: .relaxed)
            allSeen.append(state.lastSeenAt.load(ordering: .relaxed) &- sent)
            firstSeen.append(state.firstSeenAt.load(ordering: .relaxed) &- sent)
        }
        let elapsed = Double(Monotonic.now &- began) / 1e9
        let s1 = control.snapshot
        let server1 = o.serverPID.flatMap { ProcessStats.read(pid: $0) }
        let sampleError = clients.compactMap { c in onLoop(c.socket.loop) { c.lastError } }.first
        session.close(sockets)
        errors += s1.errors
        let all = LatencySummary(nanoseconds: allSeen)
        let first = LatencySummary(nanoseconds: firstSeen)
        let wsMessages = (s1.sent - s0.sent) + (s1.received - s0.received)
        report.set("rounds", allSeen.count)
        report.set("all_seen_us", all.json)
        report.set("first_seen_us", first.json)
        report.set("ws_messages", wsMessages)
        report.set("ws_messages_per_s", (Double(wsMessages) / elapsed).rounded())
        report.setErrors(errors, sample: sampleError)
        report.line("fan-out to \(o.clients) clients on one kernel, \(allSeen.count) rounds of execute \(o.code.debugDescription)")
        report.line("all clients saw the output: \(all.text)")
        report.line("first client saw it: \(first.text)")
        report.errorLine(errors, sample: sampleError)
        report.addServer(before: server0, after: server1, bridged: wsMessages, peakSampledKiB: 0)
        return report
    }
}
