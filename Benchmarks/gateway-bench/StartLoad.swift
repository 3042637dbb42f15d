import EventLoop
import Foundation
import Synchronization

/// `--mode start --users U`: first a single-start baseline (`--single-starts N` kernels, default 3, started one
/// at a time, each deleted before the next), then U threads that each start one kernel at the same instant (user
/// i uses token i mod the tokens given). Reports the start latency distribution (POST until the response), errors,
/// and p99 relative to the single-start median; with `--server-pid`, the server's CPU per single start and delete.
/// Every kernel is deleted at the end.
enum StartLoad {
    static func run(_ session: LoadSession) -> LoadReport {
        let o = session.options
        let url = session.url
        var report = LoadReport(mode: "start", label: o.label, [
            "url": url.description, "kernel": o.kernelName, "users": o.users, "tokens": o.tokens.count,
        ])

        var singles: [UInt64] = []
        var errors: [String] = []
        let singleServer0 = o.serverPID.flatMap { ProcessStats.read(pid: $0) }
        for i in 0..<o.singleStarts {
            do throws(BlockingHTTPClient.Failure) {
                let k = try KernelREST.start(url, name: o.kernelName, token: o.token(i))
                singles.append(k.latency)
                try KernelREST.delete(url, id: k.id, token: k.token)
            } catch {
                errors.append(error.message)
            }
        }
        let singleServer1 = o.serverPID.flatMap { ProcessStats.read(pid: $0) }
        let single = LatencySummary(nanoseconds: singles)

        let gate = StartGate(count: o.users)
        let server0 = o.serverPID.flatMap { ProcessStats.read(pid: $0) }
        let began = Monotonic.now
        let results = ParallelRunner.run(count: o.users, parallel: o.users) { i -> Result<KernelREST.Started, BlockingHTTPClient.Failure> in
            gate.arriveAndWait()
            do throws(BlockingHTTPClient.Failure) {
                return .success(try KernelREST.start(url, name: o.kernelName, token: o.token(i)))
            } catch {
                return .failure(error)
            }
        }
        let wall = Double(Monotonic.now &- began) / 1e9
        let server1 = o.serverPID.flatMap { ProcessStats.read(pid: $0) }
        var latencies: [UInt64] = []
        for r in results {
            switch r {
            case .success(let k):
                session.adopt(k)
                latencies.append(k.latency)
            case .failure(let e): errors.append(e.message)
            }
        }
        let concurrent = LatencySummary(nanoseconds: latencies)
        let deleteBegan = Monotonic.now
        let deleteErrors = session.deleteKernels()
        let deleteSeconds = Double(Monotonic.now &- deleteBegan) / 1e9
        errors += deleteErrors

        report.set("single_start_us", single.json)
        report.set("concurrent_start_us", concurrent.json)
        report.set("started", latencies.count)
        report.set("wall_seconds", round3(wall))
        report.set("delete_seconds", round3(deleteSeconds))
        let ratio = single.p50 > 0 ? concurrent.p99 / single.p50 : 0
        report.set("p99_over_single", round3(ratio))
        report.setErrors(errors.count, sample: errors.first)
        report.line("single start (\(o.singleStarts), sequential): \(single.text)")
        if let singleServer0, let singleServer1, !singles.isEmpty {
            let perStart = (singleServer1.cpuSeconds - singleServer0.cpuSeconds) / Double(singles.count) * 1000
            report.set("single_start_server_cpu_ms", round3(perStart))
            report.line("server CPU per single start and delete: \(round3(perStart)) ms")
        }
        report.line("\(o.users) concurrent starts: \(concurrent.text); all done in \(round3(wall)) s")
        report.line("p99 / single-start median = \(round3(ratio)); \(latencies.count) started, deleted in \(round3(deleteSeconds)) s")
        report.errorLine(errors.count, sample: errors.first)
        if let server0, let server1 {
            report.set("server_cpu_s", round3(server1.cpuSeconds - server0.cpuSeconds))
            report.set("server_vmhwm_kib", server1.hwmKiB)
        }
        return report
    }
}

/// Releases `count` threads together: each calls `arriveAndWait`, and all return once the last has arrived.
final class StartGate: Sendable {
    private let count: Int
    private let arrived = Atomic<Int>(0)

    init(count: Int) { self.count = count }

    func arriveAndWait() {
        arrived.wrappingAdd(1, ordering: .sequentiallyConsistent)
        while arrived.load(ordering: .sequentiallyConsistent) < count { usleep(200) }
    }
}
