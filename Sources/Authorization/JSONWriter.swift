/// Appends JSON text to a byte buffer. Hand-written so audit lines and config files are produced with
/// no intermediate tree, and strings are escaped exactly once, correctly.
struct JSONWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func raw(_ s: String) { bytes.append(contentsOf: s.utf8) }

    /// A JSON string literal: quotes, backslashes and all control characters escaped; U+2028/U+2029
    /// escaped too so lines stay safe for JavaScript-based log viewers.
    mutating func string(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        appendEscaped(s.utf8)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func appendEscaped(_ utf8: some Sequence<UInt8>) {
        let hex = Array("0123456789abcdef".utf8)
        var pendingE2 = 0  // state for spotting E2 80 A8/A9 (U+2028/U+2029)
        for b in utf8 {
            if pendingE2 == 2, b == 0xA8 || b == 0xA9 {
                bytes.removeLast(2)
                raw(b == 0xA8 ? "\\u2028" : "\\u2029")
                pendingE2 = 0
                continue
            }
            pendingE2 = b == 0xE2 ? 1 : (pendingE2 == 1 && b == 0x80 ? 2 : 0)
            switch b {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0x08: raw("\\b")
            case 0x0C: raw("\\f")
            case 0x00..<0x20, 0x7F:
                raw("\\u00")
                bytes.append(hex[Int(b >> 4)])
                bytes.append(hex[Int(b & 0xF)])
            default: bytes.append(b)
            }
        }
    }

    mutating func int(_ v: Int) { raw(String(v)) }

    mutating func stringArray(_ a: [String]) {
        bytes.append(UInt8(ascii: "["))
        for (i, s) in a.enumerated() {
            if i > 0 { raw(", ") }
            string(s)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func newline(indent: Int) {
        bytes.append(0x0A)
        for _ in 0..<indent { bytes.append(0x20) }
    }
}
