import Glibc

/// A UTC instant with microsecond precision, and the one ISO-8601 formatter: `2026-11-24T02:13:45.123456Z`, the
/// way Jupyter headers carry `date` (always six fraction digits; Python's `isoformat` drops them when the
/// microseconds are zero, which every Jupyter parser accepts either way), or with fewer fraction digits for log and
/// audit lines (`2026-11-24T02:13:45.123Z`). Formatting into a buffer does not allocate.
public struct UTCTimestamp: Sendable, Hashable {
    /// Whole seconds since the Unix epoch.
    public var seconds: Int64
    /// Microseconds within the second, 0...999_999.
    public var microseconds: Int32

    /// Length of the formatted text with six fraction digits.
    public static let formattedLength = 27

    /// Creates a timestamp; `microseconds` is clamped to 0...999_999.
    public init(seconds: Int64, microseconds: Int32) {
        self.seconds = seconds
        self.microseconds = min(max(microseconds, 0), 999_999)
    }

    /// The instant `milliseconds` after the Unix epoch (negative: before it).
    public init(milliseconds: Int64) {
        let millis = (milliseconds % 1000 + 1000) % 1000
        self.init(seconds: (milliseconds - millis) / 1000, microseconds: Int32(millis * 1000))
    }

    /// Milliseconds since the Unix epoch (the microseconds truncated).
    public var milliseconds: Int64 { seconds * 1000 + Int64(microseconds / 1000) }

    /// The current wall-clock time (`CLOCK_REALTIME`).
    public static func now() -> UTCTimestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UTCTimestamp(seconds: Int64(ts.tv_sec), microseconds: Int32(ts.tv_nsec / 1000))
    }

    /// Appends the ISO-8601 text (without quotes) to `out`: `YYYY-MM-DDTHH:MM:SS`, then `.` and the first
    /// `fractionDigits` digits of the microseconds (truncated, not rounded; 1...6, anything else means 6), then `Z`.
    /// Years outside 0000...9999 are clamped.
    public func write(into out: inout [UInt8], fractionDigits: Int = 6) {
        let digits = (1...6).contains(fractionDigits) ? fractionDigits : 6
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
        var fraction = Int64(microseconds)
        for _ in digits..<6 { fraction /= 10 }
        appendDigits(fraction, digits, &out)
        out.append(UInt8(ascii: "Z"))
    }

    /// The ISO-8601 text with six fraction digits (allocates).
    public var iso8601: String { iso8601(fractionDigits: 6) }

    /// The ISO-8601 text with `fractionDigits` fraction digits (see `write(into:fractionDigits:)`; allocates).
    public func iso8601(fractionDigits: Int) -> String {
        var out: [UInt8] = []
        write(into: &out, fractionDigits: fractionDigits)
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
