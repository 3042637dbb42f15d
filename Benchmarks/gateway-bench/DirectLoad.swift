import EventLoop
import ZeroMQ
import Foundation
import Glibc

/// `--direct`: the floor without any gateway. Starts `--kernels` echo-kernels itself (`DirectKernel`: connection
/// files it writes, free loopback ports, random HMAC keys), talks to them over ZeroMQ (`DirectClient`, client i to
/// kernel i % K), and reports the same request metrics as the requests mode plus its own CPU per request round
/// trip. The kernels are stopped (SIGTERM, then SIGKILL) by their PIDs at the end.
enum DirectLoad {
    static func run(_ session: LoadSession) -> LoadReport {
        let o = session.options
        var report = LoadReport(mode: "direct", label: o.label, [
            "clients": o.clients, "inflight": o.inflight, "msg": o.message.rawValue,
        ])
        guard let kernelPath = echoKernelPath(o.echoKernelPath) else {
            report.setErrors(1, sample: "echo-kernel not found (put it on PATH or pass --echo-kernel)")
            report.line("echo-kernel not found")
            return report
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-bench-\(session.runID)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var kernels: [DirectKernel] = []
        defer { for kernel in kernels { stopKernel(kernel.process) } }
        for index in 0..<o.kernels {
            switch DirectKernel.launch(index: index, executable: kernelPath, directory: directory) {
            case .success(let kernel): kernels.append(kernel)
            case .failure(let problem):
                report.setErrors(1, sample: problem.message)
                return report
            }
        }
        report.set("kernels", o.kernels)
        report.set("kernel_pids", kernels.map { Int($0.process.processIdentifier) })

        let control = RunControl(budget: o.messages ?? Int.max)
        let clients: [DirectClient]
        do {
            let context = try ZMQContext()
            // Client i talks to kernel i % K, as the gateway's load spreads clients over its kernels.
            clients = try (0..<o.clients).map { i in
                let kernel = kernels[i % kernels.count]
                return try DirectClient(index: i, loop: session.loop(i), context: context,
                                        shellEndpoint: kernel.endpoint(0), iopubEndpoint: kernel.endpoint(1),
                                        key: kernel.key, message: o.message, code: o.code, inflight: o.inflight,
                                        control: control, sessionPrefix: "d\(session.runID)")
            }
            for c in clients { try onLoop(c.loop) { Result { try c.start() } }.get() }
        } catch {
            report.setErrors(1, sample: "ZeroMQ setup failed: \(error)")
            return report
        }
        defer { for c in clients { onLoop(c.loop) { c.stop() } } }

        let warm = WarmCounter()
        for c in clients { c.loop.execute { c.warmUp(count: 2) { warm.count.wrappingAdd(1, ordering: .relaxed) } } }
        guard waitUntil(deadline: Monotonic.now &+ 30_000_000_000, { warm.count.load(ordering: .relaxed) >= clients.count }) else {
            report.setErrors(1, sample: "echo-kernel did not answer within 30 s")
            return report
        }
        for c in clients { c.loop.execute { c.begin() } }
        let begun = Monotonic.now
        if o.messages == nil { sleepSeconds(o.warmupSeconds) }
        let t0 = o.messages == nil ? Monotonic.now : begun
        let s0 = control.snapshot
        let cpu0 = ProcessStats.selfCPUSeconds()
        let kernel0 = kernels.kernelCPUSeconds()
        var timedOut = false
        if let budget = o.messages {
            let limit = o.seconds.map { Monotonic.now &+ UInt64($0 * 1e9) } ?? (Monotonic.now &+ 3_600_000_000_000)
            timedOut = !waitUntil(deadline: limit) { control.snapshot.completed >= budget }
        } else {
            sleepSeconds(o.seconds ?? 5)
        }
        let t1 = Monotonic.now
        let s1 = control.snapshot
        let cpu1 = ProcessStats.selfCPUSeconds()
        let kernel1 = kernels.kernelCPUSeconds()
        let (unfinished, sampleError) = clients.stopRequests(control)

        let elapsed = Double(t1 &- t0) / 1e9
        let summary = clients.latencySummary(in: t0...t1)
        let requests = s1.completed - s0.completed
        let messages = (s1.sent - s0.sent) + (s1.received - s0.received)
        let errors = s1.errors + unfinished + (timedOut ? 1 : 0)
        report.set("seconds", round3(elapsed))
        report.set("requests", requests)
        report.set("requests_per_s", (Double(requests) / elapsed).rounded())
        report.set("zmq_messages", messages)
        report.set("latency_us", summary.json)
        report.setErrors(errors, sample: sampleError)
        report.set("client_cpu_s", round3(cpu1 - cpu0))
        if let kernel0, let kernel1 { report.set("kernel_cpu_s", round3(kernel1 - kernel0)) }
        let perRequest = requests > 0 ? (cpu1 - cpu0) / Double(requests) * 1e6 : 0
        report.set("client_cpu_us_per_request", round3(perRequest))
        report.line("direct ZeroMQ to \(o.kernels) echo-kernel(s): \(o.clients) client(s), inflight \(o.inflight), \(o.message.rawValue)")
        report.line("\(requests) requests in \(round3(elapsed)) s = \(Int((Double(requests) / elapsed).rounded())) req/s")
        report.line("latency: \(summary.text)")
        report.line("client CPU: \(round3(cpu1 - cpu0)) s = \(round3(perRequest)) µs per request round trip")
        report.errorLine(errors, sample: sampleError)
        return report
    }

    /// `--echo-kernel`, else `echo-kernel` next to this executable, else on PATH.
    static func echoKernelPath(_ explicit: String?) -> String? {
        if let explicit { return access(explicit, X_OK) == 0 ? explicit : nil }
        var candidates: [String] = []
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        candidates.append(me.deletingLastPathComponent().appendingPathComponent("echo-kernel").path)
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            candidates.append("\(dir)/echo-kernel")
        }
        return candidates.first { access($0, X_OK) == 0 }
    }

    /// A loopback TCP port that was free a moment ago (bind to 0, read it back, close).
    static func freePort() -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        guard withSockaddr(&address, { bind(fd, $0, $1) }) == 0 else { return nil }
        let named = withSockaddr(&address) { pointer, size in
            var length = size
            return getsockname(fd, pointer, &length)
        }
        guard named == 0 else { return nil }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func stopKernel(_ process: Process) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Monotonic.now &+ 3_000_000_000
        _ = waitUntil(deadline: deadline) { !process.isRunning }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
