import CCrypto

/// The SHA-256 digest of an access token: what the users file stores instead of the token.
///
/// Tokens the gateway issues are 32 random bytes (256 bits) written as hex, so an unsalted, fast hash is
/// enough: salting and key stretching defend low-entropy passwords against guessing, and guessing a
/// 256-bit random value is infeasible however fast the hash. The digest is also the dictionary key for
/// authentication, so lookup is O(1). Hashable and fixed-size (no allocation to compare or hash).
public struct TokenDigest: Sendable, Hashable, CustomStringConvertible {
    // Big-endian words of the digest, so `hexString` is the usual left-to-right hex.
    let w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    /// The file prefix naming the algorithm.
    public static let prefix = "sha256:"

    /// Hashes the token bytes with SHA-256 (OpenSSL). The bytes are only read during the call.
    public init(hashing token: UnsafeRawBufferPointer) {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBufferPointer { o in
            // SHA256() cannot fail for in-memory input; a nil base address is fine for empty input.
            _ = SHA256(token.baseAddress?.assumingMemoryBound(to: UInt8.self), token.count, o.baseAddress)
        }
        self.init(bytes: out)
    }

    /// Hashes the UTF-8 of `token`.
    public init(hashing token: String) {
        var t = token
        self = t.withUTF8 { TokenDigest(hashing: UnsafeRawBufferPointer($0)) }
    }

    init(bytes: [UInt8]) {
        func word(_ i: Int) -> UInt64 {
            var w: UInt64 = 0
            for b in bytes[(i * 8)..<(i * 8 + 8)] { w = w << 8 | UInt64(b) }
            return w
        }
        w0 = word(0)
        w1 = word(1)
        w2 = word(2)
        w3 = word(3)
    }

    /// Parses `"sha256:<64 lowercase or uppercase hex digits>"`; nil for anything else.
    public init?(fileString: String) {
        guard fileString.hasPrefix(Self.prefix) else { return nil }
        let hex = Array(fileString.utf8.dropFirst(Self.prefix.utf8.count))
        guard hex.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var i = 0
        while i < 64 {
            guard let hi = Self.nibble(hex[i]), let lo = Self.nibble(hex[i + 1]) else { return nil }
            bytes.append(hi << 4 | lo)
            i += 2
        }
        self.init(bytes: bytes)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The 32 digest bytes.
    public var bytes: [UInt8] {
        [w0, w1, w2, w3].flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> (56 - 8 * UInt64($0))) } }
    }

    /// `"sha256:<64 lowercase hex>"`, the users-file spelling.
    public var fileString: String { Self.prefix + Tokens.hex(bytes) }

    /// Equality that takes the same time wherever the digests differ (OpenSSL `CRYPTO_memcmp`).
    public func constantTimeEquals(_ other: TokenDigest) -> Bool {
        let a = bytes, b = other.bytes
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, 32) == 0 }
        }
    }

    public var description: String { fileString }
}
