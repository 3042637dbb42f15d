/// A validating JSON scanner that locates values in a borrowed byte buffer without building a tree.
///
/// The scanner never allocates on success paths (except `decodeString` / `unescape`), never reads outside
/// `bounds`, and rejects anything RFC 8259 rejects: bad escapes, unpaired `\uD800`-style surrogates, raw
/// control characters in strings, malformed UTF-8 (overlongs, encoded surrogates, > U+10FFFF), bad numbers,
/// `NaN`/`Infinity`, trailing commas, and nesting deeper than `maxDepth`. All indices it takes and returns
/// are absolute positions in `bytes`.
///
/// It is a value type holding a pointer: the caller keeps the memory alive and unchanged while using it
/// (and any ranges it returned). Safe to use from any thread; not `Sendable` because it holds a pointer.
public struct JSONScanner {
    /// Deepest nesting of objects/arrays accepted; the top-level object is depth 1.
    public static let maxDepth = 64

    /// The whole buffer the indices refer to.
    public let bytes: UnsafeRawBufferPointer
    /// The window being scanned; nothing outside it is read.
    public let bounds: Range<Int>
    /// Non-optional base so byte reads carry no nil check; a static empty string when `bytes` is empty
    /// (then `end` is 0 and nothing is ever read).
    let base: UnsafeRawPointer
    /// `bounds.upperBound`, stored because it is compared on every byte.
    let end: Int

    /// Creates a scanner over `bytes`, restricted to `range` (clamped to the buffer) or the whole buffer.
    public init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>? = nil) {
        self.bytes = bytes
        let all = 0..<bytes.count
        self.bounds = range.map { $0.clamped(to: all) } ?? all
        self.end = bounds.upperBound
        let empty: StaticString = ""
        self.base = bytes.baseAddress ?? UnsafeRawPointer(empty.utf8Start)
    }

    /// The byte at `index`; every caller has checked `index < end`.
    @inline(__always)
    func byte(_ index: Int) -> UInt8 {
        // Debug builds (and so the malformed-input tests) trap on any read outside the window.
        assert(index >= bounds.lowerBound && index < end, "JSONScanner read outside its window")
        return base.load(fromByteOffset: index, as: UInt8.self)
    }

    // MARK: - Documents

    /// Validates that the window holds exactly one JSON value with optional surrounding whitespace.
    /// Returns the value's range (without the whitespace). Throws `ProtocolError` naming the first problem.
    public func validateDocument() throws(ProtocolError) -> Range<Int> {
        let start = skipWhitespace(bounds.lowerBound)
        guard start < end else { throw ProtocolError(.truncated, "empty JSON document", offset: start) }
        let valueEnd = try skipValue(at: start, depth: 0)
        try expectEnd(after: valueEnd)
        return start..<valueEnd
    }

    /// Validates that the window holds exactly one JSON object and calls `body` for each top-level member
    /// with the key token and the value's range (no surrounding whitespace), in document order.
    /// Values are fully validated before `body` sees them. Throws `.wrongType` when the document is not an
    /// object, any error `body` throws, or a syntax error.
    public func forEachMember(
        _ body: (_ key: JSONStringToken, _ value: Range<Int>) throws(ProtocolError) -> Void
    ) throws(ProtocolError) {
        let start = skipWhitespace(bounds.lowerBound)
        guard start < end else { throw ProtocolError(.truncated, "empty JSON document", offset: start) }
        guard byte(start) == UInt8(ascii: "{") else {
            throw ProtocolError(.wrongType, "JSON document is not an object", offset: start)
        }
        var cursor = ObjectCursor(scanner: self, openBrace: start, depth: 1)
        while let key = try cursor.nextKey() {
            let value = try cursor.skipValue()
            try body(key, value)
        }
        try expectEnd(after: cursor.position)
    }

    /// Throws `.trailingData` unless only whitespace follows `index` in the window.
    func expectEnd(after index: Int) throws(ProtocolError) {
        let rest = skipWhitespace(index)
        guard rest == end else {
            throw ProtocolError(.trailingData, "unexpected data after the end of the JSON value", offset: rest)
        }
    }

    // MARK: - Values

    /// Returns the index of the first non-whitespace byte at or after `index` (or the window end).
    @inline(__always)
    public func skipWhitespace(_ index: Int) -> Int {
        var i = index
        while i < end {
            let b = byte(i)
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return i }
            i += 1
        }
        return i
    }

    /// Validates the value starting exactly at `index` and returns the index just past it.
    /// `depth` is the number of containers already open around it (0 for a document's root).
    public func skipValue(at index: Int, depth: Int) throws(ProtocolError) -> Int {
        guard index < end else { throw ProtocolError(.truncated, "JSON value expected", offset: index) }
        switch byte(index) {
        case UInt8(ascii: "\""):
            return try scanString(at: index).range.upperBound
        case UInt8(ascii: "{"):
            guard depth < JSONScanner.maxDepth else {
                throw ProtocolError(.depthLimitExceeded, "JSON nested deeper than \(JSONScanner.maxDepth)", offset: index)
            }
            var cursor = ObjectCursor(scanner: self, openBrace: index, depth: depth + 1)
            while try cursor.nextKey() != nil {
                _ = try cursor.skipValue()
            }
            return cursor.position
        case UInt8(ascii: "["):
            guard depth < JSONScanner.maxDepth else {
                throw ProtocolError(.depthLimitExceeded, "JSON nested deeper than \(JSONScanner.maxDepth)", offset: index)
            }
            return try skipArray(at: index, depth: depth + 1)
        case UInt8(ascii: "t"):
            return try expectLiteral("true", at: index)
        case UInt8(ascii: "f"):
            return try expectLiteral("false", at: index)
        case UInt8(ascii: "n"):
            return try expectLiteral("null", at: index)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try scanNumber(at: index)
        default:
            throw ProtocolError(.unexpectedCharacter, "unexpected character where a JSON value should start", offset: index)
        }
    }

    private func skipArray(at index: Int, depth: Int) throws(ProtocolError) -> Int {
        var i = skipWhitespace(index + 1)
        guard i < end else { throw ProtocolError(.truncated, "unterminated array", offset: i) }
        if byte(i) == UInt8(ascii: "]") { return i + 1 }
        while true {
            i = try skipValue(at: i, depth: depth)
            i = skipWhitespace(i)
            guard i < end else { throw ProtocolError(.truncated, "unterminated array", offset: i) }
            switch byte(i) {
            case UInt8(ascii: ","):
                i = skipWhitespace(i + 1)
            case UInt8(ascii: "]"):
                return i + 1
            default:
                throw ProtocolError(.unexpectedCharacter, "expected ',' or ']' in array", offset: i)
            }
        }
    }

    private func expectLiteral(_ literal: StaticString, at index: Int) throws(ProtocolError) -> Int {
        let n = literal.utf8CodeUnitCount
        guard end - index >= n else { throw ProtocolError(.truncated, "truncated literal", offset: index) }
        let p = literal.utf8Start
        for k in 0..<n where byte(index + k) != p[k] {
            throw ProtocolError(.invalidLiteral, "invalid literal (expected \(literal))", offset: index + k)
        }
        return index + n
    }

    /// Validates a number starting at `index`; returns the index past it.
    public func scanNumber(at index: Int) throws(ProtocolError) -> Int {
        var i = index
        if i < end && byte(i) == UInt8(ascii: "-") { i += 1 }
        guard i < end else { throw ProtocolError(.truncated, "truncated number", offset: i) }
        let first = byte(i)
        if first == UInt8(ascii: "0") {
            i += 1
        } else if first >= UInt8(ascii: "1") && first <= UInt8(ascii: "9") {
            i += 1
            while i < end && isDigit(byte(i)) { i += 1 }
        } else {
            throw ProtocolError(.invalidNumber, "invalid number", offset: i)
        }
        if i < end && byte(i) == UInt8(ascii: ".") {
            i += 1
            guard i < end && isDigit(byte(i)) else {
                throw ProtocolError(.invalidNumber, "number needs digits after '.'", offset: i)
            }
            while i < end && isDigit(byte(i)) { i += 1 }
        }
        if i < end && (byte(i) | 0x20) == UInt8(ascii: "e") {
            i += 1
            if i < end && (byte(i) == UInt8(ascii: "+") || byte(i) == UInt8(ascii: "-")) { i += 1 }
            guard i < end && isDigit(byte(i)) else {
                throw ProtocolError(.invalidNumber, "number needs digits in its exponent", offset: i)
            }
            while i < end && isDigit(byte(i)) { i += 1 }
        }
        return i
    }

    @inline(__always) private func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }

    // MARK: - Strings

    /// Validates the string token starting at `index` (which must be a quote) and returns its location.
    public func scanString(at index: Int) throws(ProtocolError) -> JSONStringToken {
        guard index < end, byte(index) == UInt8(ascii: "\"") else {
            throw ProtocolError(.unexpectedCharacter, "string expected", offset: index)
        }
        var i = index + 1
        var escapes = false
        while true {
            if end - i >= 8 {
                // Fast path, 8 bytes at a time; the lowest flagged byte is exact, so jump straight to it.
                assert(i >= bounds.lowerBound && i + 8 <= end, "JSONScanner read outside its window")
                let chunk = base.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian
                let mask = JSONScanner.attentionMask(chunk)
                if mask == 0 {
                    i += 8
                    continue
                }
                i += mask.trailingZeroBitCount >> 3
            } else {
                while i < end {
                    let b = byte(i)
                    guard b >= 0x20, b < 0x80, b != UInt8(ascii: "\""), b != UInt8(ascii: "\\") else { break }
                    i += 1
                }
                guard i < end else { throw ProtocolError(.truncated, "unterminated string", offset: index) }
            }
            let b = byte(i)
            if b == UInt8(ascii: "\"") {
                return JSONStringToken(range: index..<(i + 1), hasEscapes: escapes)
            } else if b == UInt8(ascii: "\\") {
                escapes = true
                i = try scanEscape(at: i)
            } else if b < 0x20 {
                throw ProtocolError(.controlCharacter, "raw control character in string", offset: i)
            } else {
                i = try scanUTF8Sequence(at: i)
            }
        }
    }

    /// High bits set for bytes of `chunk` (little-endian order) that are `"`, `\\`, below 0x20 or at least
    /// 0x80. The lowest set bit is exact; bits above it may be spurious (borrow propagation). Zero means
    /// all 8 bytes are plain string content.
    @inline(__always)
    static func attentionMask(_ chunk: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quote = chunk ^ (ones &* 0x22)
        let backslash = chunk ^ (ones &* 0x5C)
        let hasQuote = (quote &- ones) & ~quote
        let hasBackslash = (backslash &- ones) & ~backslash
        let hasControl = chunk &- (ones &* 0x20)  // high bit set for bytes below 0x20 (and for >= 0xA0)
        return (hasQuote | hasBackslash | hasControl | chunk) & highs
    }

    /// Validates the escape at `index` (a backslash); returns the index after it.
    private func scanEscape(at index: Int) throws(ProtocolError) -> Int {
        guard index + 1 < end else { throw ProtocolError(.truncated, "truncated escape", offset: index) }
        switch byte(index + 1) {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return index + 2
        case UInt8(ascii: "u"):
            let unit = try hex4(at: index + 2)
            if unit >= 0xDC00 && unit <= 0xDFFF {
                throw ProtocolError(.invalidEscape, "unpaired low surrogate escape", offset: index)
            }
            guard unit >= 0xD800 && unit <= 0xDBFF else { return index + 6 }
            guard index + 7 < end, byte(index + 6) == UInt8(ascii: "\\"), byte(index + 7) == UInt8(ascii: "u") else {
                throw ProtocolError(.invalidEscape, "unpaired high surrogate escape", offset: index)
            }
            let low = try hex4(at: index + 8)
            guard low >= 0xDC00 && low <= 0xDFFF else {
                throw ProtocolError(.invalidEscape, "high surrogate not followed by a low surrogate", offset: index)
            }
            return index + 12
        default:
            throw ProtocolError(.invalidEscape, "invalid escape character", offset: index + 1)
        }
    }

    /// Reads four hex digits at `index`.
    func hex4(at index: Int) throws(ProtocolError) -> UInt32 {
        guard end - index >= 4 else { throw ProtocolError(.invalidEscape, "truncated \\u escape", offset: index) }
        var value: UInt32 = 0
        for k in 0..<4 {
            let b = byte(index + k)
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: throw ProtocolError(.invalidEscape, "invalid hex digit in \\u escape", offset: index + k)
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// Validates one multi-byte UTF-8 sequence whose lead byte is at `index`; returns the index after it.
    private func scanUTF8Sequence(at index: Int) throws(ProtocolError) -> Int {
        let lead = byte(index)
        let length: Int
        var lowerSecond: UInt8 = 0x80
        var upperSecond: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lowerSecond = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upperSecond = 0x9F  // excludes encoded surrogates
        case 0xF0: length = 4; lowerSecond = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upperSecond = 0x8F  // nothing above U+10FFFF
        default: throw ProtocolError(.invalidUTF8, "invalid UTF-8 lead byte", offset: index)
        }
        guard end - index >= length else { throw ProtocolError(.invalidUTF8, "truncated UTF-8 sequence", offset: index) }
        let second = byte(index + 1)
        guard second >= lowerSecond && second <= upperSecond else {
            throw ProtocolError(.invalidUTF8, "invalid UTF-8 continuation byte", offset: index + 1)
        }
        var k = 2
        while k < length {
            guard byte(index + k) & 0xC0 == 0x80 else {
                throw ProtocolError(.invalidUTF8, "invalid UTF-8 continuation byte", offset: index + k)
            }
            k += 1
        }
        return index + length
    }
}

/// Walks the members of one object. Internal: callers scan each value themselves (fully or with a
/// specialised scanner such as the header scan) and then hand the end position back.
struct ObjectCursor {
    let scanner: JSONScanner
    /// Where the next key or the closing brace is expected; after the object ends, just past `}`.
    var position: Int
    /// Depth of this object (the object itself counts).
    let depth: Int
    private var sawMember = false

    init(scanner: JSONScanner, openBrace: Int, depth: Int) {
        self.scanner = scanner
        self.position = openBrace + 1
        self.depth = depth
    }

    /// Returns the next key and leaves `position` at the first byte of its value, or returns nil after
    /// consuming the closing brace.
    @inline(__always)
    mutating func nextKey() throws(ProtocolError) -> JSONStringToken? {
        let s = scanner
        var i = s.skipWhitespace(position)
        guard i < s.end else { throw ProtocolError(.truncated, "unterminated object", offset: i) }
        var b = s.byte(i)
        if b == UInt8(ascii: "}") {
            position = i + 1
            return nil
        }
        if sawMember {
            guard b == UInt8(ascii: ",") else {
                throw ProtocolError(.unexpectedCharacter, "expected ',' or '}' in object", offset: i)
            }
            i = s.skipWhitespace(i + 1)
            guard i < s.end else { throw ProtocolError(.truncated, "unterminated object", offset: i) }
            b = s.byte(i)
        }
        guard b == UInt8(ascii: "\"") else {
            throw ProtocolError(.unexpectedCharacter, "expected a string key in object", offset: i)
        }
        let key = try s.scanString(at: i)
        i = s.skipWhitespace(key.range.upperBound)
        guard i < s.end else { throw ProtocolError(.truncated, "unterminated object", offset: i) }
        guard s.byte(i) == UInt8(ascii: ":") else {
            throw ProtocolError(.unexpectedCharacter, "expected ':' after object key", offset: i)
        }
        i = s.skipWhitespace(i + 1)
        guard i < s.end else { throw ProtocolError(.truncated, "object member without a value", offset: i) }
        position = i
        sawMember = true
        return key
    }

    /// Validates the value at `position` and moves past it; returns the value's range.
    mutating func skipValue() throws(ProtocolError) -> Range<Int> {
        let start = position
        position = try scanner.skipValue(at: start, depth: depth)
        return start..<position
    }
}
