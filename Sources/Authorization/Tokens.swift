/// Access-token helpers: generation, and extraction from what clients send.
public enum Tokens {
    /// A fresh token: 32 bytes from `SystemRandomNumberGenerator` (the OS CSPRNG, `getrandom` on Linux) as
    /// 64 lowercase hex characters. Show it to the user once; store only `TokenDigest(hashing:)`.
    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in stride(from: 0, to: 32, by: 8) {
            let r = rng.next()
            for j in 0..<8 { bytes[i + j] = UInt8(truncatingIfNeeded: r >> (8 * UInt64(j))) }
        }
        return hex(bytes)
    }

    /// The token in an `Authorization` header value: `token <t>` or `Bearer <t>` (scheme case-insensitive,
    /// surrounding spaces ignored). Nil for other schemes or an empty token.
    public static func fromAuthorizationHeader(_ value: String) -> String? {
        let trimmed = value.drop { $0 == " " || $0 == "\t" }
        guard let space = trimmed.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return nil }
        let scheme = trimmed[..<space].lowercased()
        guard scheme == "token" || scheme == "bearer" else { return nil }
        let token = trimmed[space...].trimmingSpaces()
        return token.isEmpty ? nil : String(token)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
