extension JSONScanner {
    /// True when the decoded value of `token` equals the ASCII (or UTF-8) `name`.
    /// Without escapes this is a length check plus a byte compare; with escapes the token is decoded, so
    /// `"msg\u005ftype"` equals `msg_type` exactly as a Python or JavaScript peer would read it.
    /// `token` must have been produced by this scanner's buffer.
    public func string(_ token: JSONStringToken, equals name: StaticString) -> Bool {
        let content = token.contentRange
        if !token.hasEscapes && content.lowerBound >= bounds.lowerBound && content.upperBound <= end {
            return rawBytes(content, equal: name)
        }
        return string(token, equals: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
    }

    /// Compares `range` (inside the buffer) with `name` using at most two overlapping word loads for
    /// lengths 4...16, which is how every key the gateway looks up is matched on the hot path.
    @inline(__always)
    func rawBytes(_ range: Range<Int>, equal name: StaticString) -> Bool {
        let n = range.count
        guard n == name.utf8CodeUnitCount else { return false }
        let a = base + range.lowerBound
        let b = UnsafeRawPointer(name.utf8Start)
        switch n {
        case 8...16:
            return a.loadUnaligned(as: UInt64.self) == b.loadUnaligned(as: UInt64.self)
                && a.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == b.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        case 4..<8:
            return a.loadUnaligned(as: UInt32.self) == b.loadUnaligned(as: UInt32.self)
                && a.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self) == b.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
        default:
            for k in 0..<n where a.load(fromByteOffset: k, as: UInt8.self) != b.load(fromByteOffset: k, as: UInt8.self) {
                return false
            }
            return true
        }
    }

    /// True when the decoded value of `token` equals the bytes of `name`.
    public func string(_ token: JSONStringToken, equals name: UnsafeRawBufferPointer) -> Bool {
        let content = token.contentRange
        guard content.lowerBound >= bounds.lowerBound, content.upperBound <= end else { return false }
        if !token.hasEscapes {
            guard content.count == name.count else { return false }
            var k = 0
            for i in content {
                if byte(i) != name[k] { return false }
                k += 1
            }
            return true
        }
        // Decoded length is never longer than the raw content, so this bound rejects most keys early.
        guard name.count <= content.count else { return false }
        var decoded: [UInt8] = []
        guard (try? unescape(token, into: &decoded)) != nil else { return false }
        return decoded.withUnsafeBytes { $0.elementsEqual(name) }
    }

    /// Decodes `token` (a validated string token from this buffer) into a Swift `String`.
    /// Throws only if the token was not produced by a successful scan of this buffer.
    public func decodeString(_ token: JSONStringToken) throws(ProtocolError) -> String {
        let content = token.contentRange
        guard content.lowerBound >= bounds.lowerBound, content.upperBound <= end else {
            throw ProtocolError(.truncated, "string token outside the buffer", offset: token.range.lowerBound)
        }
        if !token.hasEscapes {
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[content]), as: UTF8.self)
        }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(content.count)
        try unescape(token, into: &decoded)
        return String(decoding: decoded, as: UTF8.self)
    }

    /// Appends the decoded UTF-8 bytes of `token` to `out`, resolving every escape (surrogate pairs become
    /// one 4-byte sequence). Throws on a malformed escape (only possible for tokens not from `scanString`).
    public func unescape(_ token: JSONStringToken, into out: inout [UInt8]) throws(ProtocolError) {
        let content = token.contentRange
        guard content.lowerBound >= bounds.lowerBound, content.upperBound <= end else {
            throw ProtocolError(.truncated, "string token outside the buffer", offset: token.range.lowerBound)
        }
        var i = content.lowerBound
        let stop = content.upperBound
        while i < stop {
            let b = byte(i)
            guard b == UInt8(ascii: "\\") else {
                out.append(b)
                i += 1
                continue
            }
            guard i + 1 < stop else { throw ProtocolError(.invalidEscape, "truncated escape", offset: i) }
            let e = byte(i + 1)
            i += 2
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard stop - i >= 4 else { throw ProtocolError(.invalidEscape, "truncated \\u escape", offset: i) }
                var scalar = try hex4(at: i)
                i += 4
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    guard stop - i >= 6, byte(i) == UInt8(ascii: "\\"), byte(i + 1) == UInt8(ascii: "u") else {
                        throw ProtocolError(.invalidEscape, "unpaired high surrogate escape", offset: i)
                    }
                    let low = try hex4(at: i + 2)
                    guard low >= 0xDC00 && low <= 0xDFFF else {
                        throw ProtocolError(.invalidEscape, "high surrogate not followed by a low surrogate", offset: i)
                    }
                    i += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                    throw ProtocolError(.invalidEscape, "unpaired low surrogate escape", offset: i)
                }
                appendUTF8(scalar, to: &out)
            default:
                throw ProtocolError(.invalidEscape, "invalid escape character", offset: i - 1)
            }
        }
    }
}

/// Appends the UTF-8 encoding of a valid scalar value.
@inline(__always)
func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
    switch scalar {
    case 0..<0x80:
        out.append(UInt8(scalar))
    case 0x80..<0x800:
        out.append(UInt8(0xC0 | (scalar >> 6)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    case 0x800..<0x10000:
        out.append(UInt8(0xE0 | (scalar >> 12)))
        out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    default:
        out.append(UInt8(0xF0 | (scalar >> 18)))
        out.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    }
}
