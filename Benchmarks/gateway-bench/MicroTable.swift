import Foundation

/// Plain-text formatting of micro-benchmark results.
enum MicroTable {
    static let header =
        pad("benchmark", 52) + pad("bytes", 7, right: true) + pad("ns/op best", 12, right: true)
        + pad("(median)", 10, right: true) + pad("allocs/op", 11, right: true)
        + "\n" + String(repeating: "-", count: 92)

    static func row(_ r: MicroHarness.Result) -> String {
        pad(r.name, 52) + pad(r.bytes > 0 ? String(r.bytes) : "", 7, right: true)
            + pad(ns(r.nsPerOpBest), 12, right: true) + pad("(" + ns(r.nsPerOpMedian) + ")", 10, right: true)
            + pad(allocs(r.allocsPerOp), 11, right: true)
    }

    static func targetLine(_ t: MicroCommand.Target) -> String {
        let verdict = t.met ? "MET   " : "MISSED"
        let measured = t.unit == "ns/op" ? ns(t.measured) : allocs(t.measured)
        let margin = t.unit == "ns/op" && t.measured > 0 ? String(format: ", %.1fx under the limit", t.limit / t.measured) : ""
        return "\(verdict) \(t.description): \(t.benchmark) = \(measured) \(t.unit) (limit \(allocs(t.limit))\(t.met ? margin : ""))"
    }

    static func ns(_ value: Double) -> String {
        value < 100 ? String(format: "%.1f", value) : String(format: "%.0f", value)
    }

    static func allocs(_ value: Double) -> String {
        value == value.rounded() ? String(format: "%.0f", value) : String(format: "%.2f", value)
    }

    static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        guard s.count < width else { return s + " " }
        let fill = String(repeating: " ", count: width - s.count)
        return right ? fill + s : s + fill
    }
}
