/// The one JSON string escaper (RFC 8259 section 7) behind every hand-built JSON text: Jupyter headers, REST error
/// bodies, log and audit lines, the users file.
///
/// Escapes `"` and `\`; writes `\n \r \t \b \f` for those characters and `\u00XX` (lowercase hex) for the other
/// characters below U+0020; writes U+2028 and U+2029 as `\u2028` and `\u2029`: they are valid in JSON but were line
/// terminators in JavaScript, and these texts reach browsers and JavaScript log viewers. Everything else, DEL and
/// other non-ASCII text included, is copied as UTF-8, as `JSON.stringify` and `json.dumps(ensure_ascii=False)` do.
///
/// Input is valid UTF-8 (every Swift `String` is). Pure and thread-safe; appending allocates only to grow `out`.
public enum JSONEscaper {
    /// Appends `value` as a quoted JSON string to `out`.
    public static func appendQuoted(_ value: String, to out: inout [UInt8]) {
        var value = value
        value.withUTF8 { appendQuoted(utf8: UnsafeRawBufferPointer($0), to: &out) }
    }

    /// Appends already valid UTF-8 bytes as a quoted JSON string to `out`.
    public static func appendQuoted(utf8 value: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.reserveCapacity(out.count + value.count + 2)
        out.append(UInt8(ascii: "\""))
        appendEscaped(utf8: value, to: &out)
        out.append(UInt8(ascii: "\""))
    }

    /// Returns `value` as a quoted JSON string token (allocates).
    public static func quoted(_ value: String) -> [UInt8] {
        var out: [UInt8] = []
        appendQuoted(value, to: &out)
        return out
    }

    /// Appends the escaped text of `value` without the surrounding quotes. Unchanged runs are copied whole.
    public static func appendEscaped(utf8 value: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let count = value.count
        var runStart = 0
        var i = 0
        while i < count {
            let b = value[i]
            // Fast path: the bytes that never need escaping (0xE2 may start U+2028/U+2029: E2 80 A8 / E2 80 A9).
            if b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") && b != 0xE2 {
                i += 1
                continue
            }
            if b == 0xE2 {
                guard i + 2 < count, value[i + 1] == 0x80, value[i + 2] == 0xA8 || value[i + 2] == 0xA9 else {
                    i += 1
                    continue
                }
                appendRun(value, runStart, i, to: &out)
                appendASCII(value[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", to: &out)
                i += 3
                runStart = i
                continue
            }
            appendRun(value, runStart, i, to: &out)
            switch b {
            case UInt8(ascii: "\""): appendASCII("\\\"", to: &out)
            case UInt8(ascii: "\\"): appendASCII("\\\\", to: &out)
            case 0x0A: appendASCII("\\n", to: &out)
            case 0x0D: appendASCII("\\r", to: &out)
            case 0x09: appendASCII("\\t", to: &out)
            case 0x08: appendASCII("\\b", to: &out)
            case 0x0C: appendASCII("\\f", to: &out)
            default:
                let digits: StaticString = "0123456789abcdef"
                appendASCII("\\u00", to: &out)
                out.append(digits.utf8Start[Int(b >> 4)])
                out.append(digits.utf8Start[Int(b & 0x0F)])
            }
            i += 1
            runStart = i
        }
        appendRun(value, runStart, count, to: &out)
    }

    @inline(__always)
    private static func appendRun(_ value: UnsafeRawBufferPointer, _ start: Int, _ end: Int, to out: inout [UInt8]) {
        guard start < end else { return }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: value[start..<end]))
    }

    @inline(__always)
    private static func appendASCII(_ literal: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }
}
