import CCrypto

/// SHA-1 via OpenSSL's EVP interface. Used only for `Sec-WebSocket-Accept`, where RFC 6455 fixes the
/// algorithm; it is not used for anything security-relevant.
enum SHA1 {
    /// The 20-byte SHA-1 digest of `bytes`; nil only if OpenSSL reports a failure.
    static func digest(_ bytes: [UInt8]) -> [UInt8]? {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { input in
            output.withUnsafeMutableBufferPointer { out in
                EVP_Digest(input.baseAddress, input.count, out.baseAddress, &length, EVP_sha1(), nil)
            }
        }
        guard ok == 1, length == 20 else { return nil }
        return Array(output[0..<20])
    }
}
