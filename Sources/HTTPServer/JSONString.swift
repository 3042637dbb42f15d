/// JSON string escaping (RFC 8259 section 7) for hand-built JSON bodies.
public enum JSONString {
    /// Appends `text` as a quoted JSON string. Escapes `"`, `\`, all control characters below
    /// U+0020, and U+2028/U+2029 (legal JSON but line terminators in JavaScript, where Jupyter's
    /// front end may evaluate them). Other non-ASCII text is passed through as UTF-8.
    public static func appendQuoted(_ text: String, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "\""))
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22: buffer.append(contentsOf: #"\""#.utf8)
            case 0x5C: buffer.append(contentsOf: #"\\"#.utf8)
            case 0x0A: buffer.append(contentsOf: #"\n"#.utf8)
            case 0x0D: buffer.append(contentsOf: #"\r"#.utf8)
            case 0x09: buffer.append(contentsOf: #"\t"#.utf8)
            case 0x08: buffer.append(contentsOf: #"\b"#.utf8)
            case 0x0C: buffer.append(contentsOf: #"\f"#.utf8)
            case 0x00..<0x20, 0x2028, 0x2029:
                buffer.append(contentsOf: #"\u"#.utf8)
                for shift in stride(from: 12, through: 0, by: -4) {
                    buffer.append(hexDigit(UInt8((scalar.value >> UInt32(shift)) & 0x0F)))
                }
            case 0x20..<0x80: buffer.append(UInt8(scalar.value))
            default: UTF8.encode(scalar) { buffer.append($0) }
            }
        }
        buffer.append(UInt8(ascii: "\""))
    }

    /// `text` as a quoted JSON string.
    public static func quoted(_ text: String) -> String {
        var buffer: [UInt8] = []
        appendQuoted(text, to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
