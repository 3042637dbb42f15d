/// A complete (reassembled) WebSocket data message.
public struct WebSocketMessage: Sendable, Equatable {
    /// Text or binary, from the first frame's opcode.
    public enum Kind: Sendable, Equatable {
        /// Opcode 0x1; the payload is UTF-8.
        case text
        /// Opcode 0x2.
        case binary
    }

    /// The message kind.
    public var kind: Kind
    /// The payload. For `.text` it has already been validated as UTF-8 by the codec.
    public var payload: [UInt8]

    /// Creates a message.
    public init(kind: Kind, payload: [UInt8]) {
        self.kind = kind
        self.payload = payload
    }

    /// The payload as a string for `.text` messages, nil for `.binary`.
    public var text: String? {
        kind == .text ? String(decoding: payload, as: UTF8.self) : nil
    }
}
