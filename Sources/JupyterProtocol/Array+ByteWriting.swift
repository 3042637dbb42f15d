// Internal helpers for appending wire bytes to reusable `[UInt8]` output buffers.
extension Array where Element == UInt8 {
    /// Appends the UTF-8 bytes of a compile-time string without creating a `String`.
    @inline(__always)
    mutating func append(static literal: StaticString) {
        append(contentsOf: UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Appends `value` as 4 big-endian bytes.
    @inline(__always)
    mutating func appendBigEndian(_ value: UInt32) {
        append(UInt8(truncatingIfNeeded: value >> 24))
        append(UInt8(truncatingIfNeeded: value >> 16))
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    /// Appends `value` as 8 little-endian bytes.
    @inline(__always)
    mutating func appendLittleEndian(_ value: UInt64) {
        var v = value
        for _ in 0..<8 {
            append(UInt8(truncatingIfNeeded: v))
            v >>= 8
        }
    }

    /// Overwrites 4 bytes at `index` with `value`, big-endian. `index + 4 <= count` is the caller's contract.
    @inline(__always)
    mutating func storeBigEndian(_ value: UInt32, at index: Int) {
        self[index] = UInt8(truncatingIfNeeded: value >> 24)
        self[index + 1] = UInt8(truncatingIfNeeded: value >> 16)
        self[index + 2] = UInt8(truncatingIfNeeded: value >> 8)
        self[index + 3] = UInt8(truncatingIfNeeded: value)
    }
}

extension UnsafeRawBufferPointer {
    /// Reads a big-endian u32 at `index`; the caller has checked `index + 4 <= count`.
    @inline(__always)
    func readBigEndianUInt32(at index: Int) -> UInt32 {
        UInt32(self[index]) << 24 | UInt32(self[index + 1]) << 16 | UInt32(self[index + 2]) << 8 | UInt32(self[index + 3])
    }

    /// Reads a little-endian u64 at `index`; the caller has checked `index + 8 <= count`.
    @inline(__always)
    func readLittleEndianUInt64(at index: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in (0..<8).reversed() { v = v << 8 | UInt64(self[index + k]) }
        return v
    }

    /// The sub-buffer for `range`; the caller has checked that it lies inside.
    @inline(__always)
    func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[range])
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` that keeps the typed `ProtocolError` (the standard one is untyped `rethrows`).
    @inline(__always)
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(ProtocolError) -> R) throws(ProtocolError) -> R {
        let result: Result<R, ProtocolError> = withUnsafeBytes { raw in
            Result { () throws(ProtocolError) -> R in try body(raw) }
        }
        return try result.get()
    }
}
