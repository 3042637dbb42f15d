import EventLoop
import Foundation

/// `--mode stream`: one kernel runs `%stream N SIZE` (echo-kernel hook: N stdout stream messages whose text starts
/// with the sequence number); every client (`--clients`, default 1) checks that each of 0..<N arrived exactly once
/// and in order before the request's `status: idle`. Reports messages/s (send until the last client saw idle),
/// loss, duplicates, and the server's RSS before, at its sampled peak, and after.
enum StreamLoad {
    static func run(_ session: LoadSession) -> LoadReport {
        let o = session.options
        var report = LoadReport(mode: "stream", label: o.label, [
            "url": session.url.description, "kernel": o.kernelName, "clients": o.clients, "protocol": o.wire.rawValue,
            "stream_count": o.streamCount, "stream_size": o.streamSize,
        ])

        guard let kernel = session.startOneKernel(reporting: &report) else { return report }
        let control = RunControl()
        let state = RoundState()
        let executorSession = "s\(session.runID)-0"
        let tallies = (0..<o.clients).map { _ in StreamTally(expected: o.streamCount) }
        let clients = (0..<o.clients).map { i in
            ObserverClient(index: i, loop: session.loop(i), url: session.url, kernelID: kernel.id, token: kernel.token,
                           wire: o.wire, control: control, state: state, target: .idle,
                           executorSession: executorSession, session: "s\(session.runID)-\(i)", tally: tallies[i])
        }
        let sockets = clients.map(\.socket)
        guard session.connectAll(sockets, control: control, reporting: &report) else { return report }
        let executor = clients[0]
        // A kernel_info round first, so every client's iopub subscription is live before the stream starts.
        state.reset(0)
        executor.socket.loop.execute { executor.send(msgType: "kernel_info_request", content: RequestEncoder.kernelInfoContent, seq: 0) }
        _ = waitUntil(deadline: Monotonic.now &+ 30_000_000_000) { state.seen.load(ordering: .sequentiallyConsistent) >= clients.count }

        let server0 = o.serverPID.flatMap { ProcessStats.read(pid: $0) }
        let sampler = RSSSampler(pid: o.serverPID, intervalMilliseconds: 20)
        let s0 = control.snapshot
        state.reset(1)
        let content = RequestEncoder.executeContent(code: "%stream \(o.streamCount) \(o.streamSize)")
        executor.socket.loop.execute { executor.send(msgType: "execute_request", content: content, seq: 1) }
        let timeout = o.seconds ?? max(60, Double(o.streamCount) / 2000)
        let complete = waitUntil(deadline: Monotonic.now &+ UInt64(timeout * 1e9)) {
            state.seen.load(ordering: .sequentiallyConsistent) >= clients.count
        }
        let done = Monotonic.now
        let s1 = control.snapshot
        let server1 = o.serverPID.flatMap { ProcessStats.read(pid: $0) }
        let sampled = sampler?.stop()
        let sampleError = clients.compactMap { c in onLoop(c.socket.loop) { c.lastError } }.first
        session.close(sockets)

        let elapsed = Double((complete ? state.lastSeenAt.load(ordering: .relaxed) : done) &- state.sentAt.load(ordering: .relaxed)) / 1e9
        var missing = 0, duplicates = 0, outOfOrder = 0, malformed = 0, received = 0
        for t in tallies {
            let c = t.counts.withLock { $0 }
            received += c.received
            duplicates += c.duplicates
            outOfOrder += c.outOfOrder
            malformed += c.malformed
            missing += c.missing
        }
        let errors = s1.errors + (complete ? 0 : 1) + missing + duplicates + outOfOrder + malformed
        let wsMessages = (s1.sent - s0.sent) + (s1.received - s0.received)
        report.set("seconds", round3(elapsed))
        report.set("received", received)
        report.set("missing", missing)
        report.set("duplicates", duplicates)
        report.set("out_of_order", outOfOrder)
        report.set("msgs_per_s", (Double(received) / elapsed).rounded())
        report.set("mb_per_s", round1(Double(received * o.streamSize) / elapsed / 1e6))
        report.setErrors(errors, sample: sampleError)
        if !complete { report.set("timeout", true) }
        report.line("%stream \(o.streamCount) \(o.streamSize) to \(o.clients) client(s): \(received) received in \(round3(elapsed)) s = \(Int((Double(received) / elapsed).rounded())) msg/s")
        report.line("missing \(missing), duplicates \(duplicates), out of order \(outOfOrder), malformed \(malformed)" + (complete ? "" : ", TIMED OUT"))
        if let server0, let sampled {
            report.set("server_rss_before_kib", server0.rssKiB)
            report.set("server_rss_growth_kib", max(0, sampled.peakKiB - server0.rssKiB))
            report.set("stream_bytes_kib", o.streamCount * o.streamSize / 1024)
            report.line("server RSS before \(server0.rssKiB) KiB, sampled peak \(sampled.peakKiB) KiB (growth \(max(0, sampled.peakKiB - server0.rssKiB)) KiB for \(o.streamCount * o.streamSize / 1024) KiB streamed)")
        }
        report.addServer(before: server0, after: server1, bridged: wsMessages, peakSampledKiB: sampled?.peakKiB ?? 0)
        return report
    }
}
