/// The closing handshake state of a `WebSocketCodec`.
public enum WebSocketCodecState: Sendable, Equatable {
    /// Messages flow both ways.
    case open
    /// We sent a close frame and wait for the peer's; incoming data messages are still reported.
    case closing
    /// The closing handshake finished or the connection failed: flush the output, then close the
    /// socket. No more input is processed and nothing more can be sent.
    case closed
}
