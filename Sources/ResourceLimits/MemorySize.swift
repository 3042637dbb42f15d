/// Memory sizes as people write them: `2G`, `512M`, `1.5GiB`, `65536`.
public enum MemorySize {
    /// The smallest memory limit accepted (no interpreter starts in less).
    public static let minimum: UInt64 = 1 << 20

    /// Parses a size. A number alone is bytes; `K`, `M`, `G`, `T` (either case, optionally followed by `i`, `B` or
    /// `iB`) are powers of 1024, so `2G` is 2 GiB. A fraction is allowed with a unit (`1.5G`).
    /// - Throws: `LimitError(.invalidValue)` for anything else, for less than 1 MiB, or beyond 2^62 bytes.
    public static func parse(_ text: String) throws(LimitError) -> UInt64 {
        let trimmed = text.trimmingSpaces
        var number = Substring(trimmed)
        var multiplier: Double = 1
        let units: [(String, Double)] = [("k", 1024), ("m", 1_048_576), ("g", 1_073_741_824), ("t", 1_099_511_627_776)]
        let lower = trimmed.lowercased()
        for suffix in ["ib", "b", "i", ""] {
            guard let (unit, factor) = units.first(where: { lower.hasSuffix($0.0 + suffix) }) else { continue }
            number = trimmed.dropLast(unit.count + suffix.count)
            multiplier = factor
            break
        }
        if multiplier == 1, lower.hasSuffix("b") { number = trimmed.dropLast() }
        number = Substring(String(number).trimmingSpaces)
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              let value = Double(number), value.isFinite
        else {
            throw LimitError(.invalidValue, "'\(text)' is not a memory size (e.g. 2G, 512M, 1.5GiB, or bytes)")
        }
        let bytes = (value * multiplier).rounded(.down)
        guard bytes <= Double(UInt64(1) << 62) else { throw LimitError(.invalidValue, "'\(text)' is too large") }
        let result = UInt64(bytes)
        guard result >= minimum else { throw LimitError(.invalidValue, "'\(text)' is below the minimum of 1 MiB") }
        return result
    }

    /// "2 GiB", "1.5 GiB", "64 MiB", "1000 B": the largest binary unit with at most two decimals, trailing zeros
    /// dropped.
    public static func format(_ bytes: UInt64) -> String {
        let units: [(String, UInt64)] = [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        for (name, size) in units where bytes >= size {
            return "\(decimal(Double(bytes) / Double(size))) \(name)"
        }
        return "\(bytes) B"
    }

    /// At most two decimals, no trailing zeros.
    static func decimal(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let whole = hundredths / 100, fraction = hundredths % 100
        if fraction == 0 { return "\(whole)" }
        if fraction % 10 == 0 { return "\(whole).\(fraction / 10)" }
        return fraction < 10 ? "\(whole).0\(fraction)" : "\(whole).\(fraction)"
    }
}

extension String {
    /// Without leading and trailing spaces and tabs (no Foundation in this module).
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
