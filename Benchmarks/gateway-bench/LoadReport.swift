import Basics
import Foundation

/// The result of one load run: an ordered list of (key, value) for JSON, plus human-readable lines.
struct LoadReport {
    private(set) var fields: [(String, Any)] = []
    private(set) var lines: [String] = []

    init() {}

    /// A report that starts with `mode`, then `label` when given, then `fields` in their order (the common head
    /// of every load mode's JSON).
    init(mode: String, label: String?, _ fields: KeyValuePairs<String, Any>) {
        set("mode", mode)
        if let label { set("label", label) }
        for (key, value) in fields { set(key, value) }
    }

    /// Sets `key` to `value`, keeping the key's first position when it is already present.
    mutating func set(_ key: String, _ value: Any) {
        if let i = fields.firstIndex(where: { $0.0 == key }) { fields[i].1 = value } else { fields.append((key, value)) }
    }

    /// Appends one human-readable line.
    mutating func line(_ text: String) { lines.append(text) }

    /// Sets `errors` to `count` and, when there are errors and a sample, `error_sample`.
    mutating func setErrors(_ count: Int, sample: String?) {
        set("errors", count)
        if let sample, count > 0 { set("error_sample", sample) }
    }

    /// Appends the line `errors: N`, with the sample in parentheses when there is one.
    mutating func errorLine(_ count: Int, sample: String?) {
        line("errors: \(count)" + (sample.map { " (\($0))" } ?? ""))
    }

    /// Adds the server's CPU per bridged message and memory, when both snapshots exist.
    mutating func addServer(before: ProcessStats?, after: ProcessStats?, bridged: Int, peakSampledKiB: Int) {
        guard let before, let after else { return }
        let cpu = after.cpuSeconds - before.cpuSeconds
        set("server_cpu_s", round3(cpu))
        if bridged > 0 {
            let perMessage = cpu / Double(bridged) * 1e6
            set("server_cpu_us_per_msg", round3(perMessage))
            line("server CPU: \(round3(cpu)) s for \(bridged) bridged messages = \(round3(perMessage)) µs/msg")
        }
        set("server_rss_kib", after.rssKiB)
        set("server_vmhwm_kib", after.hwmKiB)
        if peakSampledKiB > 0 { set("server_rss_peak_sampled_kib", peakSampledKiB) }
        line("server memory: RSS \(after.rssKiB) KiB, VmHWM \(after.hwmKiB) KiB" + (peakSampledKiB > 0 ? ", sampled peak \(peakSampledKiB) KiB" : ""))
    }

    /// One JSON object (keys in insertion order).
    var json: String {
        var parts: [String] = []
        for (key, value) in fields {
            parts.append("\"\(key)\":" + Self.encode(value))
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    private static func encode(_ value: Any) -> String {
        switch value {
        case let s as String:
            var out: [UInt8] = []
            JSONEscaper.appendQuoted(s, to: &out)
            return String(decoding: out, as: UTF8.self)
        case let b as Bool: return b ? "true" : "false"
        case let i as Int: return String(i)
        case let d as Double: return d.isFinite ? String(d) : "null"
        case let a as [Any]: return "[" + a.map(encode).joined(separator: ",") + "]"
        case let o as [String: Any]:
            return "{" + o.keys.sorted().map { "\"\($0)\":" + encode(o[$0] ?? NSNull()) }.joined(separator: ",") + "}"
        default: return "null"
        }
    }

    /// Prints JSON or the text lines to stdout.
    func print(json asJSON: Bool) {
        if asJSON { Swift.print(json) } else { for l in lines { Swift.print(l) } }
    }
}

func round3(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }
