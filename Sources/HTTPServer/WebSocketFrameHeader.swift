/// Encodes the header of an unmasked (server-to-client) WebSocket frame, RFC 6455 section 5.2.
///
/// Pure and allocation-free: lets `WebSocketConnection` put a data frame on the wire without
/// going through wslay's message queue (which would allocate and copy the payload twice). Only
/// whole, unfragmented frames with the minimal length encoding are produced.
enum WebSocketFrameHeader {
    /// The longest header: 2 bytes + 8-byte extended length (no mask for server frames).
    static let maxByteCount = 10

    /// Opcode of a text frame.
    static let textOpcode: UInt8 = 0x1
    /// Opcode of a binary frame.
    static let binaryOpcode: UInt8 = 0x2

    /// The header length for a payload of `payloadLength` bytes.
    @inline(__always)
    static func byteCount(payloadLength: Int) -> Int {
        payloadLength < 126 ? 2 : (payloadLength <= 0xFFFF ? 4 : 10)
    }

    /// Writes a FIN frame header with `opcode` for `payloadLength` bytes into `buffer`, which must
    /// have room for `maxByteCount` bytes; returns the number of bytes written.
    @inline(__always)
    static func encode(opcode: UInt8, payloadLength: Int, into buffer: UnsafeMutableRawPointer) -> Int {
        buffer.storeBytes(of: 0x80 | (opcode & 0x0F), as: UInt8.self)
        if payloadLength < 126 {
            buffer.storeBytes(of: UInt8(payloadLength), toByteOffset: 1, as: UInt8.self)
            return 2
        }
        if payloadLength <= 0xFFFF {
            buffer.storeBytes(of: 126, toByteOffset: 1, as: UInt8.self)
            buffer.storeBytes(of: UInt16(payloadLength).bigEndian, toByteOffset: 2, as: UInt16.self)
            return 4
        }
        buffer.storeBytes(of: 127, toByteOffset: 1, as: UInt8.self)
        buffer.storeBytes(of: UInt64(payloadLength).bigEndian, toByteOffset: 2, as: UInt64.self)
        return 10
    }

    /// The opcode for a data message kind.
    @inline(__always)
    static func opcode(for kind: WebSocketMessage.Kind) -> UInt8 {
        kind == .text ? textOpcode : binaryOpcode
    }
}
