import Basics

/// Appends JSON text to a byte buffer. Hand-written so audit lines and config files are produced with
/// no intermediate tree, and strings are escaped exactly once, correctly.
struct JSONWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func raw(_ s: String) { bytes.append(contentsOf: s.utf8) }

    /// A JSON string literal, escaped by `JSONEscaper`.
    mutating func string(_ s: String) {
        JSONEscaper.appendQuoted(s, to: &bytes)
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
