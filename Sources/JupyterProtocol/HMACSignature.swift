/// A Jupyter message signature: 64 lowercase hex bytes of HMAC-SHA256, or empty when signing is off.
///
/// Stored inline (no heap allocation), so producing one per message costs nothing beyond the HMAC.
public struct HMACSignature: Sendable, Equatable, CustomStringConvertible {
    /// Length of an enabled signature in bytes.
    public static let hexLength = 64

    @usableFromInline var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// 64, or 0 for the empty signature of an unkeyed session.
    public private(set) var count: Int

    /// The empty signature (signing disabled).
    public static let empty = HMACSignature(count: 0)

    init(count: Int) { self.count = count }

    /// Calls `body` with the signature bytes (64 hex bytes, or none). The pointer is valid only inside.
    @inlinable
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        var copy = storage
        let n = count
        let result: Result<R, E> = Swift.withUnsafeBytes(of: &copy) { raw in
            Result { () throws(E) -> R in try body(UnsafeRawBufferPointer(rebasing: raw[0..<n])) }
        }
        return try result.get()
    }

    /// Writes into the inline storage; used by the signer.
    mutating func withUnsafeMutableStorage<R>(_ body: (UnsafeMutableRawBufferPointer) -> R) -> R {
        Swift.withUnsafeMutableBytes(of: &storage, body)
    }

    /// The signature bytes as an array (allocates).
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// The signature as a string (allocates).
    public var description: String { String(decoding: bytes, as: UTF8.self) }

    public static func == (lhs: HMACSignature, rhs: HMACSignature) -> Bool {
        lhs.count == rhs.count && lhs.withUnsafeBytes { l in rhs.withUnsafeBytes { r in l.elementsEqual(r) } }
    }
}
