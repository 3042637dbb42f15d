import CCrypto

/// Signs and verifies Jupyter messages with HMAC-SHA256, the `hmac-sha256` signature scheme.
///
/// One signer per kernel key, used by one thread (the kernel's event loop): it owns a keyed OpenSSL
/// `EVP_MAC_CTX` that is fetched and keyed once and re-initialised per message, which is what makes a
/// signature cost a fraction of a microsecond instead of a fresh `HMAC()` call. Hence a class that is not
/// `Sendable` and keeps mutable C state.
///
/// Why re-initialise rather than duplicate: measured once (a timing test since removed; release build,
/// OpenSSL 3.0.22, 2 shared cores) on a 643-byte execute_request, `EVP_MAC_init(ctx, NULL, 0, NULL)` costs
/// ~0.67-0.76 µs and 2 heap allocations per message (OpenSSL duplicates the inner digest state), while
/// `EVP_MAC_CTX_dup` of a keyed template costs ~1.0-1.2 µs and 11 allocations. A hand-rolled HMAC over
/// two reused `EVP_MD_CTX` is no better (~0.7 µs, 2 allocations). Copying precomputed `SHA256_CTX`
/// states is faster still (~0.48 µs, no allocation) but uses the low-level API OpenSSL 3 deprecates.
/// `gateway-bench micro --filter hmac` times the signer as it is.
///
/// The signature covers the four serialized dicts in order: header, parent_header, metadata, content
/// (buffers are not signed). An empty key disables signing, as in `jupyter_client.session.Session`:
/// `sign` returns `HMACSignature.empty` and `verify` accepts any signature.
public final class HMACSigner {
    /// False when the key is empty (no signing).
    public let isEnabled: Bool
    /// Keyed context, re-initialised with a NULL key before every message (OpenSSL keeps the key).
    private let context: OpaquePointer?

    /// Creates a signer for `key` (the connection file's `key`, as its UTF-8 bytes).
    /// Throws `.crypto` if OpenSSL cannot provide HMAC-SHA256.
    public init(key: [UInt8]) throws(ProtocolError) {
        guard !key.isEmpty else {
            isEnabled = false
            context = nil
            return
        }
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else {
            throw ProtocolError(.crypto, "OpenSSL has no HMAC implementation")
        }
        defer { EVP_MAC_free(mac) }
        guard let ctx = EVP_MAC_CTX_new(mac) else {
            throw ProtocolError(.crypto, "EVP_MAC_CTX_new failed")
        }
        var digestName = Array("SHA256".utf8CString)
        let ok = digestName.withUnsafeMutableBufferPointer { digest in
            "digest".withCString { paramName in
                var params = [
                    OSSL_PARAM_construct_utf8_string(paramName, digest.baseAddress, 0),
                    OSSL_PARAM_construct_end(),
                ]
                return key.withUnsafeBufferPointer { k in
                    params.withUnsafeMutableBufferPointer { p in
                        EVP_MAC_init(ctx, k.baseAddress, k.count, p.baseAddress)
                    }
                }
            }
        }
        guard ok == 1 else {
            EVP_MAC_CTX_free(ctx)
            throw ProtocolError(.crypto, "EVP_MAC_init with the key failed")
        }
        isEnabled = true
        context = ctx
    }

    /// Creates a signer for a key given as a string (its UTF-8 bytes are the key, as in Jupyter).
    public convenience init(key: String) throws(ProtocolError) {
        try self.init(key: Array(key.utf8))
    }

    deinit {
        if let context { EVP_MAC_CTX_free(context) }
    }

    /// Signs the four dict parts of `parts` (buffers are ignored).
    public func sign(_ parts: MessageParts) throws(ProtocolError) -> HMACSignature {
        try sign(header: parts.header, parentHeader: parts.parentHeader, metadata: parts.metadata, content: parts.content)
    }

    /// Returns the lowercase hex HMAC-SHA256 of header, parentHeader, metadata and content, in that order,
    /// or `.empty` when signing is disabled. No heap allocation. Throws `.crypto` if OpenSSL fails.
    public func sign(
        header: UnsafeRawBufferPointer, parentHeader: UnsafeRawBufferPointer,
        metadata: UnsafeRawBufferPointer, content: UnsafeRawBufferPointer
    ) throws(ProtocolError) -> HMACSignature {
        guard let context else { return .empty }
        guard EVP_MAC_init(context, nil, 0, nil) == 1 else {
            throw ProtocolError(.crypto, "EVP_MAC_init failed")
        }
        guard update(context, header), update(context, parentHeader), update(context, metadata),
              update(context, content)
        else {
            throw ProtocolError(.crypto, "EVP_MAC_update failed")
        }
        var digest: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let ok = withUnsafeMutableBytes(of: &digest) { raw -> Bool in
            var written = 0
            guard let out = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
            return EVP_MAC_final(context, out, &written, 32) == 1 && written == 32
        }
        guard ok else { throw ProtocolError(.crypto, "EVP_MAC_final failed") }
        return HMACSigner.hex(digest)
    }

    /// Checks `signature` against the parts in constant time (for a given length).
    /// Returns true when signing is disabled; false for a wrong length or any mismatch (and if OpenSSL
    /// fails, since an unverifiable message must not pass).
    public func verify(
        _ signature: UnsafeRawBufferPointer, header: UnsafeRawBufferPointer, parentHeader: UnsafeRawBufferPointer,
        metadata: UnsafeRawBufferPointer, content: UnsafeRawBufferPointer
    ) -> Bool {
        guard isEnabled else { return true }
        guard signature.count == HMACSignature.hexLength,
              let expected = try? sign(header: header, parentHeader: parentHeader, metadata: metadata, content: content)
        else { return false }
        return expected.withUnsafeBytes { e in
            var difference: UInt8 = 0
            for i in 0..<HMACSignature.hexLength { difference |= e[i] ^ signature[i] }
            return difference == 0
        }
    }

    /// Verifies the signature of `parts`; see `verify(_:header:parentHeader:metadata:content:)`.
    public func verify(_ signature: UnsafeRawBufferPointer, parts: MessageParts) -> Bool {
        verify(signature, header: parts.header, parentHeader: parts.parentHeader, metadata: parts.metadata, content: parts.content)
    }

    @inline(__always)
    private func update(_ context: OpaquePointer, _ part: UnsafeRawBufferPointer) -> Bool {
        guard let base = part.baseAddress, part.count > 0 else { return true }
        return EVP_MAC_update(context, base.assumingMemoryBound(to: UInt8.self), part.count) == 1
    }

    private static func hex(_ digest: (UInt64, UInt64, UInt64, UInt64)) -> HMACSignature {
        var signature = HMACSignature(count: HMACSignature.hexLength)
        var digest = digest
        let digits: StaticString = "0123456789abcdef"
        let table = digits.utf8Start
        withUnsafeBytes(of: &digest) { raw in
            signature.withUnsafeMutableStorage { out in
                for i in 0..<32 {
                    let b = raw[i]
                    out[2 * i] = table[Int(b >> 4)]
                    out[2 * i + 1] = table[Int(b & 0x0F)]
                }
            }
        }
        return signature
    }
}

@available(*, unavailable, message: "HMACSigner owns mutable OpenSSL state and is used by one thread")
extension HMACSigner: Sendable {}
