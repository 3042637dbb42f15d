/// Writes Swift strings as JSON string tokens.
///
/// Escapes `"` and `\`, writes `\n \r \t \b \f` for those controls and `\u00XX` for other characters below
/// U+0020; everything else (including non-ASCII) is copied as UTF-8, as `json.dumps(ensure_ascii=False)`
/// and `JSON.stringify` do. Pure, thread-safe.
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
        var runStart = 0
        for i in 0..<value.count {
            let b = value[i]
            guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
            if runStart < i { out.append(contentsOf: value.slice(runStart..<i)) }
            runStart = i + 1
            out.append(UInt8(ascii: "\\"))
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(b)
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            default:
                let digits: StaticString = "0123456789abcdef"
                out.append(static: "u00")
                out.append(digits.utf8Start[Int(b >> 4)])
                out.append(digits.utf8Start[Int(b & 0x0F)])
            }
        }
        if runStart < value.count { out.append(contentsOf: value.slice(runStart..<value.count)) }
        out.append(UInt8(ascii: "\""))
    }

    /// Returns `value` as a quoted JSON string token (allocates).
    public static func quoted(_ value: String) -> [UInt8] {
        var out: [UInt8] = []
        appendQuoted(value, to: &out)
        return out
    }
}
