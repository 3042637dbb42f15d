/// What the peer's bytes amounted to, reported by `WebSocketCodec.receive`.
public enum WebSocketEvent: Sendable, Equatable {
    /// A complete data message.
    case message(WebSocketMessage)
    /// A ping arrived; the matching pong is already queued in the output.
    case ping([UInt8])
    /// A pong arrived (answer to our ping, or unsolicited); useful as a keep-alive signal.
    case pong([UInt8])
    /// The peer sent a close frame. `code` is nil when the frame had no status code. If we had not
    /// sent a close yet, the echo (same code) is already queued. After flushing the output, close
    /// the TCP connection.
    case closeReceived(code: WebSocketCloseCode?, reason: String)
    /// We failed the connection because of the peer's data (1002 protocol error, 1007 invalid
    /// UTF-8, 1009 message too big, 1011 internal). A close frame with `code` is queued unless a
    /// close was already sent. Flush the output, then close the TCP connection.
    case failed(WebSocketCloseCode)
}
