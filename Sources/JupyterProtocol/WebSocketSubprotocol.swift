/// The kernel WebSocket wire formats and the choice between them at upgrade time.
public enum WebSocketSubprotocol: Sendable, Equatable {
    /// No subprotocol: legacy JSON text frames, binary frames with a u32 offset table for buffers.
    case legacy
    /// `v1.kernel.websocket.jupyter.org`: binary frames with a u64 offset table.
    case v1

    /// Picks the format for a client's offered subprotocols (the comma-separated tokens of
    /// `Sec-WebSocket-Protocol`, already split): v1 when offered, otherwise legacy. The caller answers
    /// with `responseHeaderValue`, which is nil for legacy so a protocol the client did not offer is never
    /// selected.
    public static func select(offered: some Sequence<some StringProtocol>) -> WebSocketSubprotocol {
        for token in offered where token.trimmingSpaces == V1WebSocketCodec.subprotocol[...] { return .v1 }
        return .legacy
    }

    /// The value for the response's `Sec-WebSocket-Protocol`, nil when none must be sent.
    public var responseHeaderValue: String? {
        switch self {
        case .legacy: return nil
        case .v1: return V1WebSocketCodec.subprotocol
        }
    }
}

extension StringProtocol {
    fileprivate var trimmingSpaces: Substring {
        let s = Substring(self)
        guard let first = s.firstIndex(where: { $0 != " " && $0 != "\t" }),
              let last = s.lastIndex(where: { $0 != " " && $0 != "\t" })
        else { return "" }
        return s[first...last]
    }
}
