/// A ZMTP command: a frame with the COMMAND flag whose body is a 1-byte name length, the name, then data.
///
/// Decoding is total over arbitrary bytes: anything that does not parse throws `.malformedCommand`, and unknown
/// names decode to `.unknown` (the protocol says to ignore them).
public enum ZMTPCommand: Equatable, Sendable {
    /// One `name = value` metadata property of READY. Names compare ASCII case-insensitively (`property(_:)`).
    public struct Property: Equatable, Sendable {
        public var name: [UInt8]
        public var value: [UInt8]
        public init(name: [UInt8], value: [UInt8]) {
            self.name = name
            self.value = value
        }
        public init(_ name: String, _ value: [UInt8]) {
            self.init(name: Array(name.utf8), value: value)
        }
    }

    /// Handshake: the sender's metadata (we send `Socket-Type` and, for DEALER and REQ, `Identity`).
    case ready([Property])
    /// A fatal error; the sender closes the connection. The reason is at most 255 bytes.
    case error(reason: [UInt8])
    /// ZMTP 3.1 heartbeat: time-to-live in tenths of a second and up to 16 bytes of context to echo in PONG.
    case ping(ttl: UInt16, context: [UInt8])
    /// ZMTP 3.1 heartbeat answer, echoing the PING's context.
    case pong(context: [UInt8])
    /// Any other command (ignored once the connection is ready).
    case unknown(name: [UInt8], data: [UInt8])

    /// The command's name on the wire.
    public var name: [UInt8] {
        switch self {
        case .ready: Array("READY".utf8)
        case .error: Array("ERROR".utf8)
        case .ping: Array("PING".utf8)
        case .pong: Array("PONG".utf8)
        case .unknown(let name, _): name
        }
    }

    /// The command body (name length, name, data), without the frame header. Values and names longer than the
    /// wire allows are truncated (names and the ERROR reason to 255 bytes); callers send short values.
    public var body: [UInt8] {
        var bytes: [UInt8] = []
        let name = self.name.prefix(255)
        bytes.append(UInt8(name.count))
        bytes.append(contentsOf: name)
        switch self {
        case .ready(let properties):
            for property in properties {
                let name = property.name.prefix(255)
                bytes.append(UInt8(name.count))
                bytes.append(contentsOf: name)
                let value = property.value.prefix(Int(UInt32.max))
                withUnsafeBytes(of: UInt32(value.count).bigEndian) { bytes.append(contentsOf: $0) }
                bytes.append(contentsOf: value)
            }
        case .error(let reason):
            let reason = reason.prefix(255)
            bytes.append(UInt8(reason.count))
            bytes.append(contentsOf: reason)
        case .ping(let ttl, let context):
            withUnsafeBytes(of: ttl.bigEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: context)
        case .pong(let context):
            bytes.append(contentsOf: context)
        case .unknown(_, let data):
            bytes.append(contentsOf: data)
        }
        return bytes
    }

    /// The whole command frame (header and body), ready to write.
    public var encoded: [UInt8] { ZMTPFrame.encode(body, more: false, command: true) }

    /// The value of the first READY property called `name` (ASCII case-insensitive), or nil.
    public func property(_ name: String) -> [UInt8]? {
        guard case .ready(let properties) = self else { return nil }
        return properties.first { asciiCaseInsensitiveEqual($0.name, name.utf8) }?.value
    }

    /// Parses a command body (the frame body after the header).
    /// - Throws: `.malformedCommand` when the name length, a property, the ERROR reason or the PING TTL
    ///   overruns the body.
    public static func decode(body: UnsafeRawBufferPointer) throws(ZMTPProtocolError) -> ZMTPCommand {
        var reader = Reader(bytes: body)
        guard let nameLength = reader.byte(), let name = reader.take(Int(nameLength)) else {
            throw ZMTPProtocolError(.malformedCommand, "command name overruns its frame")
        }
        if name.elementsEqual("READY".utf8) {
            var properties: [Property] = []
            while !reader.isAtEnd {
                guard let nameLength = reader.byte(), let propertyName = reader.take(Int(nameLength)),
                      let valueLength = reader.uint32(), let value = reader.take(Int(valueLength)) else {
                    throw ZMTPProtocolError(.malformedCommand, "READY property overruns the command")
                }
                properties.append(Property(name: Array(propertyName), value: Array(value)))
            }
            return .ready(properties)
        }
        if name.elementsEqual("ERROR".utf8) {
            guard let length = reader.byte(), let reason = reader.take(Int(length)) else {
                throw ZMTPProtocolError(.malformedCommand, "ERROR reason overruns the command")
            }
            return .error(reason: Array(reason))
        }
        if name.elementsEqual("PING".utf8) {
            guard let high = reader.byte(), let low = reader.byte() else {
                throw ZMTPProtocolError(.malformedCommand, "PING without a TTL")
            }
            return .ping(ttl: UInt16(high) << 8 | UInt16(low), context: Array(reader.rest()))
        }
        if name.elementsEqual("PONG".utf8) {
            return .pong(context: Array(reader.rest()))
        }
        return .unknown(name: Array(name), data: Array(reader.rest()))
    }

    /// A bounds-checked cursor: every read returns nil instead of running past the end.
    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        var isAtEnd: Bool { offset >= bytes.count }

        mutating func byte() -> UInt8? {
            guard offset < bytes.count else { return nil }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func uint32() -> UInt32? {
            guard bytes.count - offset >= 4 else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 { value = value << 8 | UInt32(bytes[offset]); offset += 1 }
            return value
        }

        mutating func take(_ count: Int) -> UnsafeRawBufferPointer? {
            guard count >= 0, bytes.count - offset >= count else { return nil }
            defer { offset += count }
            return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
        }

        mutating func rest() -> UnsafeRawBufferPointer {
            take(bytes.count - offset) ?? UnsafeRawBufferPointer(start: nil, count: 0)
        }
    }
}

/// ASCII case-insensitive equality (property names are case-insensitive in ZMTP metadata).
func asciiCaseInsensitiveEqual(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    return zip(a, b).allSatisfy { x, y in
        let lx = x >= 0x41 && x <= 0x5A ? x | 0x20 : x
        let ly = y >= 0x41 && y <= 0x5A ? y | 0x20 : y
        return lx == ly
    }
}
