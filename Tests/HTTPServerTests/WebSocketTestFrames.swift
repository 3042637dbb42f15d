@testable import HTTPServer

/// Builds client frames per RFC 6455 section 5.2 (masked unless told otherwise), independently of
/// the codec under test.
enum ClientFrame {
    static let text: UInt8 = 0x1
    static let binary: UInt8 = 0x2
    static let continuation: UInt8 = 0x0
    static let close: UInt8 = 0x8
    static let ping: UInt8 = 0x9
    static let pong: UInt8 = 0xA

    static func make(
        _ opcode: UInt8, _ payload: [UInt8] = [], fin: Bool = true, rsv: UInt8 = 0, masked: Bool = true,
        mask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
    ) -> [UInt8] {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | (rsv & 0x7) << 4 | (opcode & 0x0F)]
        let maskBit: UInt8 = masked ? 0x80 : 0
        if payload.count < 126 {
            frame.append(maskBit | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            frame.append(maskBit | 126)
            frame += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            frame.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((UInt64(payload.count) >> UInt64(shift)) & 0xFF)) }
        }
        if masked {
            frame += mask
            frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        } else {
            frame += payload
        }
        return frame
    }

    static func close(code: UInt16?, reason: [UInt8] = []) -> [UInt8] {
        guard let code else { return make(Self.close) }
        return make(Self.close, [UInt8(code >> 8), UInt8(code & 0xFF)] + reason)
    }
}

/// A frame decoded from server output.
struct ServerFrame: Equatable, CustomStringConvertible {
    var fin: Bool
    var opcode: UInt8
    var payload: [UInt8]
    /// Header length used, to check the minimal length encoding.
    var headerLength: Int

    var closeCode: UInt16? {
        guard opcode == 0x8, payload.count >= 2 else { return nil }
        return UInt16(payload[0]) << 8 | UInt16(payload[1])
    }

    var description: String { "frame(op \(opcode), fin \(fin), \(payload.count) bytes)" }

    /// Decodes a complete sequence of unmasked server frames; nil when malformed, masked or cut off.
    static func decodeAll(_ bytes: [UInt8]) -> [ServerFrame]? {
        var frames: [ServerFrame] = []
        var index = 0
        while index < bytes.count {
            guard index + 2 <= bytes.count else { return nil }
            let first = bytes[index]
            let second = bytes[index + 1]
            guard second & 0x80 == 0, first & 0x70 == 0 else { return nil }
            var length = Int(second & 0x7F)
            var header = 2
            if length == 126 {
                guard index + 4 <= bytes.count else { return nil }
                length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
                header = 4
            } else if length == 127 {
                guard index + 10 <= bytes.count else { return nil }
                length = 0
                for offset in 2..<10 { length = length << 8 | Int(bytes[index + offset]) }
                header = 10
            }
            guard index + header + length <= bytes.count else { return nil }
            frames.append(ServerFrame(
                fin: first & 0x80 != 0, opcode: first & 0x0F,
                payload: Array(bytes[(index + header)..<(index + header + length)]), headerLength: header))
            index += header + length
        }
        return frames
    }
}
