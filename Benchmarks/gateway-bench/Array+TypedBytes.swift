import JupyterProtocol

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` that keeps the typed `ProtocolError` (the standard one only `rethrows` an untyped
    /// error); no allocation.
    @inline(__always)
    func withProtocolBytes<R>(_ body: (UnsafeRawBufferPointer) throws(ProtocolError) -> R) throws(ProtocolError) -> R {
        let result: Result<R, ProtocolError> = withUnsafeBytes { raw in
            Result { () throws(ProtocolError) -> R in try body(raw) }
        }
        return try result.get()
    }
}
