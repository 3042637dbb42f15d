/// The 64-byte ZMTP 3.0 greeting: what we send, and the checks on the peer's.
///
/// Layout: signature (0xFF, 8 padding bytes, 0x7F), version major and minor, mechanism (20 bytes, zero padded),
/// as-server, 31 filler bytes.
public enum ZMTPGreeting {
    /// Greeting length in bytes.
    public static let size = 64

    /// Our greeting: version 3.0 (so libzmq 4.x peers speak 3.0 with us: SUB subscribes with a 0x01-prefixed
    /// message, not a SUBSCRIBE command), mechanism NULL, as-server 0.
    public static let encoded: [UInt8] = {
        var bytes = [UInt8](repeating: 0, count: size)
        bytes[0] = 0xFF
        bytes[9] = 0x7F
        bytes[10] = 3
        bytes[11] = 0
        bytes.replaceSubrange(12..<32, with: mechanism)
        return bytes
    }()

    /// "NULL" zero-padded to 20 bytes.
    static let mechanism: [UInt8] = Array("NULL".utf8) + [UInt8](repeating: 0, count: 16)

    /// Checks as much of the peer's greeting as `prefix` holds (its first `prefix.count` bytes, at most 64), so
    /// a bad peer is dropped as soon as its first wrong byte arrives. The padding bytes are not checked: libzmq
    /// puts a ZMTP 1.0 length there. Versions 3.x and later are accepted (we then speak 3.0).
    /// - Throws: `ZMTPProtocolError` with `.badSignature`, `.unsupportedVersion` or `.unsupportedMechanism`.
    public static func validate(prefix: some Collection<UInt8>) throws(ZMTPProtocolError) {
        for (i, byte) in prefix.enumerated() {
            switch i {
            case 0 where byte != 0xFF, 9 where byte != 0x7F:
                throw ZMTPProtocolError(.badSignature, "greeting byte \(i) is \(byte)")
            case 10 where byte < 3:
                throw ZMTPProtocolError(.unsupportedVersion, "peer speaks ZMTP \(byte).x")
            case 12..<32:
                if byte != mechanism[i - 12] {
                    throw ZMTPProtocolError(.unsupportedMechanism, "peer's mechanism is not NULL")
                }
            default:
                break
            }
            if i >= size - 1 { return }
        }
    }
}
