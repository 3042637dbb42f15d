/// CPU limits in cores (`1.5`, `0.25`), kept in thousandths of a core, and their CFS quota form.
public enum CPUQuota {
    /// The CFS period the gateway uses: 100 ms, the kernel's default.
    public static let periodMicroseconds = 100_000
    /// The smallest limit accepted: 0.01 core (a 1 ms quota per period, the kernel's minimum).
    public static let minimumMillicores = 10
    /// The largest limit accepted (far beyond any machine).
    public static let maximumMillicores = 1_000_000

    /// Parses cores: a decimal number with at most three decimals (`1`, `1.5`, `0.25`), or thousandths with an
    /// `m` suffix as Kubernetes writes them (`500m`).
    /// - Throws: `LimitError(.invalidValue)` for anything else or outside 0.01...1000 cores.
    public static func parse(_ text: String) throws(LimitError) -> Int {
        let trimmed = text.trimmingSpaces
        let millicores: Int?
        if trimmed.hasSuffix("m") {
            let digits = trimmed.dropLast()
            millicores = digits.allSatisfy({ $0.isASCII && $0.isNumber }) ? Int(digits) : nil
        } else {
            millicores = parseDecimal(trimmed)
        }
        guard let millicores else {
            throw LimitError(.invalidValue, "'\(text)' is not a number of cores (e.g. 1, 1.5, 0.25 or 500m)")
        }
        guard (minimumMillicores...maximumMillicores).contains(millicores) else {
            throw LimitError(.invalidValue, "'\(text)' is outside 0.01...1000 cores")
        }
        return millicores
    }

    /// The same limit from a JSON number of cores.
    /// - Throws: `LimitError(.invalidValue)` outside 0.01...1000 cores.
    public static func millicores(cores: Double) throws(LimitError) -> Int {
        guard cores.isFinite, cores * 1000 >= Double(minimumMillicores), cores * 1000 <= Double(maximumMillicores) else {
            throw LimitError(.invalidValue, "\(cores) is outside 0.01...1000 cores")
        }
        return Int((cores * 1000).rounded())
    }

    /// The CFS quota per `periodMicroseconds` for `millicores`.
    public static func quotaMicroseconds(_ millicores: Int) -> Int { millicores * periodMicroseconds / 1000 }

    /// "1.5 cores", "1 core", "0.25 cores".
    public static func format(_ millicores: Int) -> String {
        let whole = millicores / 1000, fraction = millicores % 1000
        var text = "\(whole)"
        if fraction != 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: 3 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text + (millicores == 1000 ? " core" : " cores")
    }

    /// `1`, `1.5`, `.5`, `0.125` → thousandths; nil for anything else (more than three decimals included).
    static func parseDecimal(_ text: String) -> Int? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard !text.isEmpty, parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }) else { return nil }
        let wholeText = parts[0], fractionText = parts.count > 1 ? parts[1] : ""
        guard !(wholeText.isEmpty && fractionText.isEmpty), fractionText.count <= 3, wholeText.count <= 7 else {
            return nil
        }
        let whole = wholeText.isEmpty ? 0 : Int(wholeText) ?? 0
        let fraction = Int(fractionText + String(repeating: "0", count: 3 - fractionText.count)) ?? 0
        return whole * 1000 + fraction
    }
}
