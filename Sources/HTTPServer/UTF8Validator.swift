/// Strict, incremental UTF-8 validation per RFC 3629: rejects overlong forms, UTF-16 surrogates
/// (U+D800...U+DFFF), code points above U+10FFFF, stray continuation bytes and the bytes C0, C1,
/// F5...FF.
///
/// Incremental so that WebSocket text can be checked fragment by fragment and fail fast: feed chunks
/// in order with `feed(_:)`; the sequence is valid when every `feed` returned true and `isComplete`
/// is true at the end (no code point cut off). A value type with no I/O; not thread-safe to share
/// mutably, like any struct.
public struct UTF8Validator: Sendable {
    /// Continuation bytes still expected for the current code point.
    private var remaining: UInt8 = 0
    /// Allowed range of the *next* continuation byte; narrower than 80...BF right after the lead
    /// bytes E0, ED, F0, F4, which is how overlongs, surrogates and > U+10FFFF are excluded.
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF
    /// Sticky failure flag: once invalid, always invalid.
    private var failed = false

    /// Creates a validator at a code point boundary.
    public init() {}

    /// True when the bytes fed so far are valid and end on a code point boundary.
    public var isComplete: Bool { !failed && remaining == 0 }

    /// True once an invalid byte has been seen.
    public var hasFailed: Bool { failed }

    /// Resets to the initial state.
    public mutating func reset() { self = UTF8Validator() }

    /// Validates the next chunk. Returns false (and stays failed) as soon as an invalid byte is seen.
    @discardableResult
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !failed else { return false }
        let count = bytes.count
        var index = 0
        while index < count {
            if remaining == 0 {
                // ASCII fast path: 8 bytes at a time while no high bit is set.
                while index + 8 <= count {
                    let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                    if word & 0x8080_8080_8080_8080 != 0 { break }
                    index += 8
                }
                guard index < count else { break }
                let byte = bytes[index]
                index += 1
                if byte < 0x80 { continue }
                switch byte {
                case 0xC2...0xDF: remaining = 1; lower = 0x80; upper = 0xBF
                case 0xE0: remaining = 2; lower = 0xA0; upper = 0xBF
                case 0xE1...0xEC, 0xEE...0xEF: remaining = 2; lower = 0x80; upper = 0xBF
                case 0xED: remaining = 2; lower = 0x80; upper = 0x9F
                case 0xF0: remaining = 3; lower = 0x90; upper = 0xBF
                case 0xF1...0xF3: remaining = 3; lower = 0x80; upper = 0xBF
                case 0xF4: remaining = 3; lower = 0x80; upper = 0x8F
                default:
                    failed = true
                    return false
                }
            } else {
                let byte = bytes[index]
                index += 1
                guard byte >= lower && byte <= upper else {
                    failed = true
                    return false
                }
                remaining -= 1
                lower = 0x80
                upper = 0xBF
            }
        }
        return true
    }

    /// Validates the next chunk given as any byte sequence (arrays and slices take the fast path).
    @discardableResult
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> Bool {
        if let result = bytes.withContiguousStorageIfAvailable({ feed(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { feed($0) }
    }

    /// Validates a complete byte sequence.
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var validator = UTF8Validator()
        return validator.feed(bytes) && validator.isComplete
    }

    /// Validates a complete byte sequence given as any byte sequence.
    public static func isValid(_ bytes: some Sequence<UInt8>) -> Bool {
        var validator = UTF8Validator()
        return validator.feed(bytes) && validator.isComplete
    }
}
