import EventLoop
import Foundation

/// `--mode connections --clients N`: N idle WebSockets spread over `--kernels` kernels (default 1). Measures the
/// server's RSS before and after opening them (growth per connection), then checks they are all alive: client 0
/// sends a `kernel_info_request` and every client on its kernel must see the iopub `status: idle` for it.
enum ConnectionsLoad {
    static func run(_ session: LoadSession) -> LoadReport {
        let o = session.options
        var report = LoadReport(mode: "connections", label: o.label, [
            "url": session.url.description, "kernels": o.kernels, "clients": o.clients, "protocol": o.wire.rawValue,
        ])
        let limit = raiseOpenFileLimit(to: o.clients + 1024)
        if limit < o.clients + 64 {
            report.line("warning: our RLIMIT_NOFILE is \(limit), below \(o.clients) connections")
        }
        if let pid = o.serverPID, let server = ProcessStats.openFileLimit(pid: pid) {
            report.set("server_nofile_soft", server.soft == Int.max ? -1 : server.soft)
            if server.soft < o.clients + 64 {
                report.line("warning: the server's soft RLIMIT_NOFILE is \(server.soft), below \(o.clients) connections")
            }
        }

        let (kernels, startErrors) = session.startKernels(o.kernels)
        guard startErrors.isEmpty, !kernels.isEmpty else {
            report.setErrors(max(1, startErrors.count), sample: startErrors.first ?? "no kernel started")
            return report
        }
        let control = RunControl()
        let state = RoundState()
        let executorSession = "c\(session.runID)-0"
        let clients = (0..<o.clients).map { i in
            let kernel = kernels[i % kernels.count]
            return ObserverClient(index: i, loop: session.loop(i), url: session.url, kernelID: kernel.id, token: kernel.token,
                                  wire: o.wire, control: control, state: state, target: .idle,
                                  executorSession: executorSession, session: "c\(session.runID)-\(i)")
        }
        sleepSeconds(0.5)
        let before = o.serverPID.flatMap { ProcessStats.read(pid: $0) }
        let began = Monotonic.now
        let connectErrors = session.connect(clients.map(\.socket), control: control, timeout: 600)
        let openSeconds = Double(Monotonic.now &- began) / 1e9
        let opened = control.opened.load(ordering: .relaxed)
        sleepSeconds(1)
        let after = o.serverPID.flatMap { ProcessStats.read(pid: $0) }

        // Liveness: one request; every client on kernel 0 must see its idle status.
        let onKernel0 = (o.clients + kernels.count - 1) / kernels.count
        state.reset(0)
        let executor = clients[0]
        var aliveSeconds = 0.0
        var alive = 0
        if opened > 0 {
            executor.socket.loop.execute { executor.send(msgType: "kernel_info_request", content: RequestEncoder.kernelInfoContent, seq: 0) }
            _ = waitUntil(deadline: Monotonic.now &+ 60_000_000_000) { state.seen.load(ordering: .sequentiallyConsistent) >= onKernel0 }
            alive = state.seen.load(ordering: .relaxed)
            aliveSeconds = Double(state.lastSeenAt.load(ordering: .relaxed) &- state.sentAt.load(ordering: .relaxed)) / 1e9
        }
        let sampleError = connectErrors.first ?? clients.lazy.compactMap { c in onLoop(c.socket.loop) { c.lastError } }.first
        let closeBegan = Monotonic.now
        session.close(clients.map(\.socket), timeout: 60)
        let closeSeconds = Double(Monotonic.now &- closeBegan) / 1e9
        sleepSeconds(1)
        let afterClose = o.serverPID.flatMap { ProcessStats.read(pid: $0) }

        let failed = o.clients - opened
        let errors = failed + (onKernel0 - min(alive, onKernel0)) + control.errors.load(ordering: .relaxed)
        report.set("opened", opened)
        report.set("open_seconds", round3(openSeconds))
        report.set("alive", alive)
        report.set("alive_expected", onKernel0)
        report.set("all_seen_ms", round1(aliveSeconds * 1000))
        report.set("close_seconds", round3(closeSeconds))
        report.setErrors(errors, sample: sampleError)
        report.line("\(opened) of \(o.clients) WebSockets opened in \(round3(openSeconds)) s over \(kernels.count) kernel(s)")
        report.line("liveness: \(alive) of \(onKernel0) clients on kernel 0 saw the idle status within \(round1(aliveSeconds * 1000)) ms")
        if let before, let after {
            let growth = Double(after.rssKiB - before.rssKiB)
            let perConnection = opened > 0 ? growth / Double(opened) : 0
            report.set("server_rss_before_kib", before.rssKiB)
            report.set("server_rss_after_kib", after.rssKiB)
            report.set("server_rss_kib_per_connection", round3(perConnection))
            report.set("server_vmhwm_kib", after.hwmKiB)
            report.line("server RSS \(before.rssKiB) KiB -> \(after.rssKiB) KiB = \(round3(perConnection)) KiB per connection")
            if let afterClose {
                report.set("server_rss_after_close_kib", afterClose.rssKiB)
                report.line("server RSS after closing them: \(afterClose.rssKiB) KiB")
            }
        }
        report.errorLine(errors, sample: sampleError)
        return report
    }
}
