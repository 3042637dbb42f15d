import Synchronization

/// Latency samples of one client: (completion time, latency) in nanoseconds, so a report can keep only the
/// requests that completed inside the measurement window. Appends happen on the client's loop; the report reads
/// after the run. The mutex is uncontended during the run (one writer), so it costs a few nanoseconds.
final class LatencyLog: Sendable {
    private let samples = Mutex<[(at: UInt64, ns: UInt64)]>([])

    init() {}

    func record(at: UInt64, latency: UInt64) {
        samples.withLock { $0.append((at, latency)) }
    }

    /// The latencies of samples completed in `window`.
    func latencies(in window: ClosedRange<UInt64>) -> [UInt64] {
        samples.withLock { all in all.compactMap { window.contains($0.at) ? $0.ns : nil } }
    }
}

/// Percentiles of a set of latencies, in microseconds.
struct LatencySummary: Sendable {
    let count: Int
    let p50: Double
    let p90: Double
    let p99: Double
    let max: Double
    let mean: Double

    init(nanoseconds values: [UInt64]) {
        let sorted = values.sorted()
        count = sorted.count
        func pick(_ q: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            // Nearest-rank percentile.
            let rank = Int((q * Double(sorted.count)).rounded(.up))
            return Double(sorted[Swift.max(0, Swift.min(sorted.count - 1, rank - 1))]) / 1000
        }
        p50 = pick(0.50)
        p90 = pick(0.90)
        p99 = pick(0.99)
        max = Double(sorted.last ?? 0) / 1000
        mean = sorted.isEmpty ? 0 : Double(sorted.reduce(0, +)) / Double(sorted.count) / 1000
    }

    var json: [String: Any] {
        ["count": count, "p50": round1(p50), "p90": round1(p90), "p99": round1(p99), "max": round1(max), "mean": round1(mean)]
    }

    var text: String {
        "p50 \(fmt(p50)) µs, p90 \(fmt(p90)) µs, p99 \(fmt(p99)) µs, max \(fmt(max)) µs (n=\(count))"
    }
}

func round1(_ v: Double) -> Double { (v * 10).rounded() / 10 }

func fmt(_ v: Double) -> String {
    if v >= 100 { return String(Int(v.rounded())) }
    return String(round1(v))
}
