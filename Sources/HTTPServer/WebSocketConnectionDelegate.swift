/// What a `WebSocketConnection` tells its owner. Every call happens on the connection's loop thread.
public protocol WebSocketConnectionDelegate: AnyObject {
    /// A complete data message arrived (text is already validated as UTF-8). The payload is valid
    /// only during the call: copy what must outlive it. The delegate may call `send`, `close`,
    /// `pauseReading` and `resumeReading` from here. Loop thread.
    func webSocket(_ connection: WebSocketConnection, didReceive kind: WebSocketMessage.Kind, payload: UnsafeRawBufferPointer)

    /// The outbound queue was over the high-water mark and has fallen back under a quarter of it:
    /// a good moment to resume producing. Loop thread.
    func webSocketDidDrain(_ connection: WebSocketConnection)

    /// The connection is no longer open (peer close, protocol error, ping timeout, slow client, our
    /// own `close`, or a dropped TCP connection); no further delegate calls follow. `code` is the
    /// close code that ended it: the peer's code when the peer closed (nil if its close frame had
    /// none), the code we sent when we closed or failed the connection, or 1006
    /// (`abnormalClosure`) when TCP went away without a closing handshake. Never called from inside
    /// the owner's own `send` or `close`: those report on a later loop turn. Loop thread.
    func webSocketDidClose(_ connection: WebSocketConnection, code: WebSocketCloseCode?)
}
