/// Server-side WebSocket framing as a sans-I/O state machine: bytes from the peer go in through
/// `receive`, events come out; outgoing frames are appended to an internal output queue that the
/// owner writes to the socket. Implementations must follow RFC 6455 for a server endpoint
/// (masked input required, unmasked output), reassemble fragments, answer pings, echo close
/// frames, validate text as UTF-8, and enforce a maximum message size.
///
/// The protocol exists so that the wslay-based `WslayWebSocketCodec` can later be replaced by a
/// pure-Swift codec without touching the gateway.
///
/// Threading: implementations are single-owner, non-Sendable objects used on one event-loop thread.
public protocol WebSocketCodec: AnyObject {
    /// Closing-handshake state; see `WebSocketCodecState`.
    var state: WebSocketCodecState { get }

    /// Bytes of outgoing frames waiting to be written (the owner bounds this per connection).
    var pendingOutputByteCount: Int { get }

    /// Processes bytes received from the peer, appending resulting events to `events` in order.
    /// Input after the codec stopped reading (close received, or failure) is discarded.
    func receive(_ bytes: UnsafeRawBufferPointer, into events: inout [WebSocketEvent])

    /// Queues one unfragmented data message. Text payloads are not re-validated: the caller
    /// guarantees UTF-8. Throws `.closed` after a close frame was queued.
    func send(_ kind: WebSocketMessage.Kind, payload: UnsafeRawBufferPointer) throws(WebSocketCodecError)

    /// Queues a ping (payload at most 125 bytes).
    func sendPing(_ payload: UnsafeRawBufferPointer) throws(WebSocketCodecError)

    /// Queues a close frame with `code` (must be `isSendable`) and a UTF-8 `reason` of at most 123
    /// bytes, then waits for the peer's close (state `.closing`).
    func sendClose(_ code: WebSocketCloseCode, reason: String) throws(WebSocketCodecError)

    /// Calls `body` with the pending output bytes; the pointer is valid only inside `body`.
    /// Returns what `body` returns. Does not consume anything: call `consumeOutput` with the
    /// number of bytes actually written.
    func withPendingOutput<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R

    /// Drops the first `count` pending output bytes (they were written to the socket).
    func consumeOutput(_ count: Int)
}
