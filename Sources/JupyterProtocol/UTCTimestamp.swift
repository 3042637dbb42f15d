import Glibc

/// A UTC instant with microsecond precision, formatted the way Jupyter headers carry `date`:
/// `2026-11-24T02:13:45.123456Z` (always six fraction digits; Python's `isoformat` drops them when the
/// microseconds are zero, which every Jupyter parser accepts either way). Formatting does not allocate.
public struct UTCTimestamp: Sendable, Hashable {
    /// Whole seconds since the Unix epoch.
    public var seconds: Int64
    /// Microseconds within the second, 0...999_999.
    public var microseconds: Int32

    /// Length of the formatted text.
    public static let formattedLength = 27

    /// Creates a timestamp; `microseconds` is clamped to 0...999_999.
    public init(seconds: Int64, microseconds: Int32) {
        self.seconds = seconds
        self.microseconds = min(max(microseconds, 0), 999_999)
    }

    /// The current wall-clock time (`CLOCK_REALTIME`).
    public static func now() -> UTCTimestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UTCTimestamp(seconds: Int64(ts.tv_sec), microseconds: Int32(ts.tv_nsec / 1000))
    }

    /// Appends the ISO-8601 text (without quotes) to `out`. Years outside 0000...9999 are clamped.
    public func write(into out: inout [UInt8]) {
        // Days-to-civil conversion (proleptic Gregorian), after Howard Hinnant's public-domain algorithm.
        let minSeconds: Int64 = -62_167_219_200  // 0000-01-01T00:00:00Z
        let maxSeconds: Int64 = 253_402_300_799  // 9999-12-31T23:59:59Z
        let secs = min(max(seconds, minSeconds), maxSeconds)
        var days = secs / 86_400
        var rem = secs % 86_400
        if rem < 0 { rem += 86_400; days -= 1 }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)

        out.reserveCapacity(out.count + UTCTimestamp.formattedLength)
        appendDigits(year, 4, &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(month, 2, &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(day, 2, &out)
        out.append(UInt8(ascii: "T"))
        appendDigits(rem / 3600, 2, &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(rem / 60 % 60, 2, &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(rem % 60, 2, &out)
        out.append(UInt8(ascii: "."))
        appendDigits(Int64(microseconds), 6, &out)
        out.append(UInt8(ascii: "Z"))
    }

    /// The ISO-8601 text (allocates).
    public var iso8601: String {
        var out: [UInt8] = []
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always)
    private func appendDigits(_ value: Int64, _ width: Int, _ out: inout [UInt8]) {
        var divisor: Int64 = 1
        for _ in 1..<width { divisor *= 10 }
        var v = value
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: v / divisor))
            v %= divisor
            divisor /= 10
        }
    }
}
