import Basics

// Byte-append helpers for building reply JSON into reusable buffers (no JSON library on the message path).
extension Array where Element == UInt8 {
    /// Appends the bytes of a compile-time string; the text must already be valid JSON where it lands.
    @inline(__always)
    mutating func appendASCII(_ literal: StaticString) {
        append(contentsOf: UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Appends borrowed bytes verbatim (e.g. a JSON value spliced from a request).
    @inline(__always)
    mutating func appendRaw(_ bytes: UnsafeRawBufferPointer) {
        append(contentsOf: bytes)
    }

    /// Appends a decimal integer.
    mutating func appendDecimal(_ value: Int) {
        if value < 0 { append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: enough for 20 digits
        let count = Swift.withUnsafeMutableBytes(of: &digits) { raw -> Int in
            var n = 0
            repeat {
                raw[23 - n] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
                n += 1
            } while magnitude > 0
            return n
        }
        Swift.withUnsafeBytes(of: &digits) { raw in append(contentsOf: raw[(24 - count)...]) }
    }

    /// Appends `utf8` as a quoted, escaped JSON string.
    @inline(__always)
    mutating func appendQuoted(utf8: UnsafeRawBufferPointer) {
        JSONEscaper.appendQuoted(utf8: utf8, to: &self)
    }

    /// Appends `value` as a quoted, escaped JSON string.
    @inline(__always)
    mutating func appendQuoted(_ value: String) {
        JSONEscaper.appendQuoted(value, to: &self)
    }

    /// Appends `true` or `false`.
    @inline(__always)
    mutating func appendBool(_ value: Bool) {
        if value { appendASCII("true") } else { appendASCII("false") }
    }
}
