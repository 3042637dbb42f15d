import EventLoop
import Foundation
import Synchronization

/// `--mode requests` (the default): K kernels, C clients spread over them, P requests in flight per client, for
/// `--seconds` (after `--warmup` seconds at full load) or until `--messages` requests completed.
enum RequestsLoad {
    static func run(_ session: LoadSession) -> LoadReport {
        let o = session.options
        var report = LoadReport(mode: "requests", label: o.label, [
            "url": session.url.description, "kernel": o.kernelName, "kernels": o.kernels, "clients": o.clients,
            "inflight": o.inflight, "msg": o.message.rawValue, "protocol": o.wire.rawValue,
        ])

        let (kernels, startErrors) = session.startKernels(o.kernels)
        guard startErrors.isEmpty, !kernels.isEmpty else {
            report.setErrors(max(1, startErrors.count), sample: startErrors.first ?? "no kernel started")
            report.line("kernel start failed: \(startErrors.first ?? "no kernel")")
            return report
        }
        let control = RunControl(budget: o.messages ?? Int.max)
        let clients = (0..<o.clients).map { i in
            let kernel = kernels[i % kernels.count]
            return RequestClient(index: i, loop: session.loop(i), url: session.url, kernelID: kernel.id, token: kernel.token,
                                 wire: o.wire, message: o.message, code: o.code, inflight: o.inflight, control: control,
                                 sessionPrefix: "b\(session.runID)")
        }
        let sockets = clients.map(\.socket)
        let connectErrors = session.connect(sockets, control: control)
        let failed = control.failedToOpen.load(ordering: .relaxed)
        guard failed == 0, connectErrors.isEmpty else {
            let sample = connectErrors.first ?? clients.compactMap { c in onLoop(c.socket.loop) { c.lastError } }.first ?? "?"
            report.setErrors(failed, sample: sample)
            report.line("\(failed) of \(clients.count) WebSockets failed to open: \(sample)")
            session.close(sockets)
            return report
        }

        // A couple of sequential round trips per client: kernels and server are past their first-message paths.
        let warm = WarmCounter()
        for c in clients { c.socket.loop.execute { c.warmUp(count: 2) { warm.count.wrappingAdd(1, ordering: .relaxed) } } }
        _ = waitUntil(deadline: Monotonic.now &+ 60_000_000_000) { warm.count.load(ordering: .relaxed) >= clients.count }

        for c in clients { c.socket.loop.execute { c.begin() } }
        let begun = Monotonic.now
        let measureFixedDuration = o.messages == nil
        if measureFixedDuration { sleepSeconds(o.warmupSeconds) }
        let t0 = measureFixedDuration ? Monotonic.now : begun
        let s0 = control.snapshot
        let server0 = o.serverPID.flatMap { ProcessStats.read(pid: $0) }
        let kernels0 = o.serverPID.map { ProcessTree.descendantCPU(of: $0) }
        let cpu0 = ProcessStats.selfCPUSeconds()
        let sampler = RSSSampler(pid: o.serverPID)
        var timedOut = false
        if let seconds = o.seconds, o.messages == nil {
            sleepSeconds(seconds)
        } else if let budget = o.messages {
            let limit = o.seconds.map { Monotonic.now &+ UInt64($0 * 1e9) } ?? (Monotonic.now &+ 3_600_000_000_000)
            timedOut = !waitUntil(deadline: limit) {
                let s = control.snapshot
                return s.completed >= budget || (control.opened.load(ordering: .relaxed) == 0)
            }
        }
        let t1 = Monotonic.now
        let s1 = control.snapshot
        let server1 = o.serverPID.flatMap { ProcessStats.read(pid: $0) }
        let kernels1 = o.serverPID.map { ProcessTree.descendantCPU(of: $0) }
        let cpu1 = ProcessStats.selfCPUSeconds()
        let peak = sampler?.stop().peakKiB ?? 0
        // Let outstanding requests finish (not counted), then call what is left unfinished.
        let (unfinished, sampleError) = clients.stopRequests(control)
        session.close(sockets)

        let elapsed = Double(t1 &- t0) / 1e9
        let summary = clients.latencySummary(in: t0...t1)
        let requests = s1.completed - s0.completed
        let wsMessages = (s1.sent - s0.sent) + (s1.received - s0.received)
        let errors = (s1.errors) + unfinished + (timedOut ? 1 : 0)
        report.set("seconds", round3(elapsed))
        report.set("requests", requests)
        report.set("requests_per_s", (Double(requests) / elapsed).rounded())
        report.set("ws_messages", wsMessages)
        report.set("ws_messages_per_s", (Double(wsMessages) / elapsed).rounded())
        report.set("latency_us", summary.json)
        report.setErrors(errors, sample: sampleError)
        report.set("client_cpu_s", round3(cpu1 - cpu0))
        report.line("\(o.kernels) kernel(s) × \(o.clients) client(s), inflight \(o.inflight), \(o.message.rawValue) over \(o.wire.rawValue)")
        report.line("\(requests) requests in \(round3(elapsed)) s = \(Int((Double(requests) / elapsed).rounded())) req/s, \(Int((Double(wsMessages) / elapsed).rounded())) WebSocket msg/s")
        report.line("latency: \(summary.text)")
        report.errorLine(errors, sample: sampleError)
        report.line("client CPU: \(round3(cpu1 - cpu0)) s")
        report.addServer(before: server0, after: server1, bridged: wsMessages, peakSampledKiB: peak)
        if let server0, let server1, let kernels0, let kernels1, requests > 0 {
            // The server's descendants: its kernels (and bubblewrap around them in sandbox mode).
            let kernelCPU = ProcessTree.cpuBetween(kernels0, kernels1)
            let perRequest = (server1.cpuSeconds - server0.cpuSeconds + kernelCPU) / Double(requests) * 1e6
            report.set("kernel_cpu_s", round3(kernelCPU))
            report.set("server_kernel_cpu_us_per_request", round3(perRequest))
            report.line("kernel CPU: \(round3(kernelCPU)) s; server + kernels: \(round3(perRequest)) µs per request")
        }
        return report
    }
}

/// Counts clients that finished warming up (a class: atomics cannot be captured by value).
final class WarmCounter: Sendable {
    let count = Atomic<Int>(0)
}
