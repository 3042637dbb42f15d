import ControlGroups
import JupyterProtocol
import HTTPServer
import Synchronization
import Foundation

/// Prometheus metrics of the gateway (`GET /metrics`, text format 0.0.4). Counters and histograms updated by the
/// REST layer live here behind a mutex (control path only); per-message counters live in each kernel's
/// `ChannelRouter` on its loop and are collected when the page is rendered, so the message path takes no lock.
final class GatewayMetrics: Sendable {
    struct Histogram {
        static let bounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
        var buckets = [Int](repeating: 0, count: Histogram.bounds.count)
        var count = 0
        var sum = 0.0

        mutating func observe(_ value: Double) {
            count += 1
            sum += value
            for (i, bound) in Histogram.bounds.enumerated() where value <= bound { buckets[i] += 1 }
        }
    }

    /// Figures read from the running kernels' actors when the page is rendered.
    struct KernelTotals {
        var badSignatures = 0
        var malformed = 0
        var unresponsive = 0
    }

    /// One kernel's cgroup figures, read when the page is rendered.
    struct KernelUsage {
        let kernelID: String
        let owner: String
        let usage: CgroupUsage
        let memoryLimitBytes: UInt64?
    }

    private struct State {
        var requests: [String: Histogram] = [:]          // "route\0method" → latency
        var responses: [String: Int] = [:]               // "route\0method\0code" → count
        var kernelStarts: [String: Histogram] = [:]      // kernelspec → start duration
        var kernelStartFailures = 0
        var kernelRestarts: [String: Int] = [:]
        var denials: [String: Int] = [:]
        var authenticationFailures = 0
        var connectionsRefused: [String: Int] = ["per_address": 0, "total": 0]
        var requestTimeouts: [String: Int] = ["head": 0, "body": 0]
        /// Message counters of hubs whose kernels are gone, so counters never go backwards.
        var retired = ChannelRouter.Counters()
    }

    private let state = Mutex(State())

    func recordRequest(route: String, method: String, status: HTTPStatus, seconds: Double) {
        state.withLock {
            $0.requests["\(route)\u{0}\(method)", default: Histogram()].observe(seconds)
            $0.responses["\(route)\u{0}\(method)\u{0}\(status.code)", default: 0] += 1
        }
    }

    func recordKernelStart(kernelspec: String, seconds: Double) {
        state.withLock { $0.kernelStarts[kernelspec, default: Histogram()].observe(seconds) }
    }

    func recordKernelStartFailure() { state.withLock { $0.kernelStartFailures += 1 } }
    func recordKernelRestart(kernelspec: String) { state.withLock { $0.kernelRestarts[kernelspec, default: 0] += 1 } }
    func recordDenial(reason: String) { state.withLock { $0.denials[reason, default: 0] += 1 } }
    func recordAuthenticationFailure() { state.withLock { $0.authenticationFailures += 1 } }
    func recordConnectionRefused(limit: String) { state.withLock { $0.connectionsRefused[limit, default: 0] += 1 } }
    func recordRequestTimeout(stage: String) { state.withLock { $0.requestTimeouts[stage, default: 0] += 1 } }

    /// Keeps the counters of a hub whose kernel was removed.
    func retire(_ counters: ChannelRouter.Counters) {
        state.withLock { state in
            for i in counters.inbound.indices {
                state.retired.inbound[i] += counters.inbound[i]
                state.retired.outbound[i] += counters.outbound[i]
            }
            state.retired.denied += counters.denied
            state.retired.malformed += counters.malformed
            state.retired.queueFull += counters.queueFull
            state.retired.readerLimited += counters.readerLimited
            state.retired.unroutable += counters.unroutable
            state.retired.replayed += counters.replayed
            state.retired.replayDropped += counters.replayDropped
            state.retired.restartsAnnounced += counters.restartsAnnounced
            for (key, value) in counters.deniedByRequirement { state.retired.deniedByRequirement[key, default: 0] += value }
        }
    }

    /// The metrics page. `kernelStates` is keyed "kernelspec\0state".
    func render(kernelStates: [String: Int], hubCounters: [ChannelRouter.Counters], connections: Int,
                kernels: KernelTotals = KernelTotals(), usage: [KernelUsage] = []) -> String {
        let s = state.withLock { $0 }
        var out = ""
        func header(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func label(_ value: String) -> String {
            value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
        }
        func histogram(_ name: String, _ labels: String, _ h: Histogram) {
            let sep = labels.isEmpty ? "" : ","
            for (i, bound) in Histogram.bounds.enumerated() {
                out += "\(name)_bucket{\(labels)\(sep)le=\"\(bound)\"} \(h.buckets[i])\n"
            }
            out += "\(name)_bucket{\(labels)\(sep)le=\"+Inf\"} \(h.count)\n"
            out += "\(name)_sum{\(labels)} \(h.sum)\n\(name)_count{\(labels)} \(h.count)\n"
        }

        header("kernel_gateway_kernels", "gauge", "Running kernels by kernelspec and execution state.")
        for key in kernelStates.keys.sorted() {
            let parts = key.split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)
            out += "kernel_gateway_kernels{kernelspec=\"\(label(parts[0]))\",state=\"\(label(parts.count > 1 ? parts[1] : ""))\"} \(kernelStates[key] ?? 0)\n"
        }
        header("kernel_gateway_kernels_unresponsive", "gauge", "Running kernels that missed two or more heartbeats in a row.")
        out += "kernel_gateway_kernels_unresponsive \(kernels.unresponsive)\n"
        header("kernel_gateway_kernel_messages_rejected", "gauge", "Messages from running kernels dropped, by reason.")
        out += "kernel_gateway_kernel_messages_rejected{reason=\"bad_signature\"} \(kernels.badSignatures)\n"
        out += "kernel_gateway_kernel_messages_rejected{reason=\"malformed\"} \(kernels.malformed)\n"
        header("kernel_gateway_websocket_connections", "gauge", "Open kernel WebSocket connections.")
        out += "kernel_gateway_websocket_connections \(connections)\n"

        var inbound = [Int](repeating: 0, count: Channel.allCases.count), outbound = inbound
        var denied = 0, malformed = 0, queueFull = 0, unroutable = 0, replayed = 0, replayDropped = 0, readerLimited = 0
        var restartsAnnounced = 0, deniedBy: [String: Int] = [:]
        let live = hubCounters
        for c in hubCounters + [s.retired] {
            restartsAnnounced += c.restartsAnnounced
            for (key, value) in c.deniedByRequirement { deniedBy[key, default: 0] += value }
            for i in inbound.indices { inbound[i] += c.inbound[i]; outbound[i] += c.outbound[i] }
            denied += c.denied; malformed += c.malformed; queueFull += c.queueFull; unroutable += c.unroutable
            replayed += c.replayed; replayDropped += c.replayDropped; readerLimited += c.readerLimited
        }
        header("kernel_gateway_messages_total", "counter", "Channel messages bridged, by channel and direction.")
        for channel in Channel.messageChannels {
            out += "kernel_gateway_messages_total{channel=\"\(channel.name)\",direction=\"to_kernel\"} \(inbound[channel.index])\n"
            out += "kernel_gateway_messages_total{channel=\"\(channel.name)\",direction=\"to_client\"} \(outbound[channel.index])\n"
        }
        header("kernel_gateway_channel_denials_total", "counter", "Channel messages denied by the permission check, by the access level they needed.")
        for key in deniedBy.keys.sorted() { out += "kernel_gateway_channel_denials_total{required=\"\(label(key))\"} \(deniedBy[key] ?? 0)\n" }
        if deniedBy.isEmpty { out += "kernel_gateway_channel_denials_total{required=\"execute\"} \(denied)\n" }
        header("kernel_gateway_buffered_bytes", "gauge", "Bytes held for clients: outbound WebSocket queues and replay buffers of disconnected sessions.")
        out += "kernel_gateway_buffered_bytes{buffer=\"websocket_outbound\"} \(live.reduce(0) { $0 + $1.outboundQueuedBytes })\n"
        out += "kernel_gateway_buffered_bytes{buffer=\"replay\"} \(live.reduce(0) { $0 + $1.replayBufferedBytes })\n"
        header("kernel_gateway_kernel_restarts_announced_total", "counter", "Kernel restarts announced to clients (iopub status restarting), automatic or requested; requested ones are also counted in kernel_gateway_kernel_restarts_total.")
        out += "kernel_gateway_kernel_restarts_announced_total \(restartsAnnounced)\n"
        header("kernel_gateway_channel_errors_total", "counter", "Channel messages not forwarded, by reason.")
        out += "kernel_gateway_channel_errors_total{reason=\"malformed\"} \(malformed)\n"
        out += "kernel_gateway_channel_errors_total{reason=\"kernel_queue_full\"} \(queueFull)\n"
        out += "kernel_gateway_channel_errors_total{reason=\"unroutable_reply\"} \(unroutable)\n"
        out += "kernel_gateway_channel_errors_total{reason=\"reader_limit\"} \(readerLimited)\n"
        header("kernel_gateway_replay_messages_total", "counter", "Messages replayed to reconnecting sessions, or dropped from full replay buffers.")
        out += "kernel_gateway_replay_messages_total{outcome=\"replayed\"} \(replayed)\n"
        out += "kernel_gateway_replay_messages_total{outcome=\"dropped\"} \(replayDropped)\n"

        header("kernel_gateway_http_denials_total", "counter", "HTTP requests denied by policy, by reason.")
        for key in s.denials.keys.sorted() { out += "kernel_gateway_http_denials_total{reason=\"\(label(key))\"} \(s.denials[key] ?? 0)\n" }
        header("kernel_gateway_authentication_failures_total", "counter", "Requests with a missing or invalid token.")
        out += "kernel_gateway_authentication_failures_total \(s.authenticationFailures)\n"
        header("kernel_gateway_http_connections_refused_total", "counter", "Connections refused by a connection limit (503, nothing read), by limit.")
        for key in s.connectionsRefused.keys.sorted() { out += "kernel_gateway_http_connections_refused_total{limit=\"\(key)\"} \(s.connectionsRefused[key] ?? 0)\n" }
        header("kernel_gateway_http_request_timeouts_total", "counter", "Requests whose head or body did not arrive within its deadline (408), by stage.")
        for key in s.requestTimeouts.keys.sorted() { out += "kernel_gateway_http_request_timeouts_total{stage=\"\(key)\"} \(s.requestTimeouts[key] ?? 0)\n" }
        header("kernel_gateway_kernel_start_failures_total", "counter", "Kernel starts that failed.")
        out += "kernel_gateway_kernel_start_failures_total \(s.kernelStartFailures)\n"
        header("kernel_gateway_kernel_restarts_total", "counter", "Kernel restarts requested through the API, by kernelspec.")
        for key in s.kernelRestarts.keys.sorted() { out += "kernel_gateway_kernel_restarts_total{kernelspec=\"\(label(key))\"} \(s.kernelRestarts[key] ?? 0)\n" }
        header("kernel_gateway_kernel_start_duration_seconds", "histogram", "Time from start request to kernel ready, by kernelspec.")
        for key in s.kernelStarts.keys.sorted() { if let h = s.kernelStarts[key] { histogram("kernel_gateway_kernel_start_duration_seconds", "kernelspec=\"\(label(key))\"", h) } }
        header("kernel_gateway_http_request_duration_seconds", "histogram", "HTTP request latency by route and method.")
        for key in s.requests.keys.sorted() {
            let parts = key.split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)
            if let h = s.requests[key] { histogram("kernel_gateway_http_request_duration_seconds", "route=\"\(label(parts[0]))\",method=\"\(label(parts.count > 1 ? parts[1] : ""))\"", h) }
        }
        header("kernel_gateway_http_responses_total", "counter", "HTTP responses by route, method and status code.")
        for key in s.responses.keys.sorted() {
            let parts = key.split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3 else { continue }
            out += "kernel_gateway_http_responses_total{route=\"\(label(parts[0]))\",method=\"\(label(parts[1]))\",code=\"\(parts[2])\"} \(s.responses[key] ?? 0)\n"
        }
        out += renderUsage(usage, label: label)
        return out
    }

    /// Per-kernel gauges from the cgroups, labelled by kernel id and owner.
    private func renderUsage(_ rows: [KernelUsage], label: (String) -> String) -> String {
        guard !rows.isEmpty else { return "" }
        var out = ""
        func header(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func lines(_ name: String, _ value: (KernelUsage) -> String?) {
            for row in rows {
                guard let v = value(row) else { continue }
                out += "\(name){kernel_id=\"\(label(row.kernelID))\",owner=\"\(label(row.owner))\"} \(v)\n"
            }
        }
        header("kernel_gateway_kernel_memory_bytes", "gauge", "Memory charged to each kernel's cgroup.")
        lines("kernel_gateway_kernel_memory_bytes") { $0.usage.memoryBytes.map { String($0) } }
        header("kernel_gateway_kernel_memory_limit_bytes", "gauge", "Memory limit of each kernel (kernels without one are not listed).")
        lines("kernel_gateway_kernel_memory_limit_bytes") { $0.memoryLimitBytes.map { String($0) } }
        header("kernel_gateway_kernel_cpu_seconds_total", "counter", "CPU time used by each kernel and its processes.")
        lines("kernel_gateway_kernel_cpu_seconds_total") { $0.usage.cpuSeconds.map { String($0) } }
        header("kernel_gateway_kernel_pids", "gauge", "Processes and threads in each kernel's cgroup.")
        lines("kernel_gateway_kernel_pids") { $0.usage.pids.map { String($0) } }
        return out
    }
}
