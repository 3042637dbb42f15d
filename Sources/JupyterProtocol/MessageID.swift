import CCrypto

/// Random message ids for messages the gateway originates.
///
/// Format: a version-4 UUID in lowercase hex, `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx` (36 bytes), from
/// OpenSSL's CSPRNG so other clients cannot predict the ids the gateway will route replies by.
/// Thread-safe (OpenSSL's default RNG is thread-safe).
public enum MessageID {
    /// Length of an id in bytes.
    public static let length = 36

    /// Appends a new id (no quotes) to `out`. Falls back to the system generator if OpenSSL fails.
    public static func appendRandom(to out: inout [UInt8]) {
        var random: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &random) { raw in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self),
                  RAND_bytes(base, Int32(raw.count)) == 1
            else {
                var generator = SystemRandomNumberGenerator()
                raw.storeBytes(of: generator.next() as UInt64, toByteOffset: 0, as: UInt64.self)
                raw.storeBytes(of: generator.next() as UInt64, toByteOffset: 8, as: UInt64.self)
                return
            }
        }
        let digits: StaticString = "0123456789abcdef"
        let table = digits.utf8Start
        out.reserveCapacity(out.count + length)
        withUnsafeBytes(of: &random) { raw in
            for i in 0..<16 {
                var b = raw[i]
                if i == 6 { b = (b & 0x0F) | 0x40 }  // version 4
                if i == 8 { b = (b & 0x3F) | 0x80 }  // RFC 4122 variant
                if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
                out.append(table[Int(b >> 4)])
                out.append(table[Int(b & 0x0F)])
            }
        }
    }

    /// A new id as a string.
    public static func random() -> String {
        var out: [UInt8] = []
        appendRandom(to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
