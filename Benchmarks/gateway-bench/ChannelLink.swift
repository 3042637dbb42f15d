import JupyterProtocol

/// The gateway-connection side every WebSocket load client shares (`RequestClient`, `ObserverClient`): the
/// subprotocol check on open, decoding and counting received frames, and the error accounting on close.
///
/// Loop-bound: a value owned by one client and used only on its socket's loop thread.
struct ChannelLink {
    let wire: WireProtocol
    let control: RunControl
    private(set) var didOpen = false
    /// The latest error (a close error is kept only when nothing came before it).
    private(set) var lastError: String?

    init(wire: WireProtocol, control: RunControl) {
        self.wire = wire
        self.control = control
    }

    /// The handshake completed with `subprotocol`. Returns false (recording why) when the v1 format was asked for
    /// and the server did not select it: the caller aborts the socket. Otherwise counts the connection as opened.
    mutating func opened(subprotocol: String?) -> Bool {
        if wire == .v1 && subprotocol != V1WebSocketCodec.subprotocol {
            lastError = "server did not accept the v1 subprotocol"
            return false
        }
        didOpen = true
        control.opened.wrappingAdd(1, ordering: .relaxed)
        return true
    }

    /// Counts one received frame and decodes it; nil (counted as an error) when it does not decode. The message
    /// points into `payload`.
    mutating func receive(_ payload: UnsafeRawBufferPointer, text: Bool) -> InboundMessage? {
        control.wsReceived.wrappingAdd(1, ordering: .relaxed)
        do { return try InboundMessage(frame: payload, text: text, wire: wire) } catch {
            fail("undecodable message: \(error)")
            return nil
        }
    }

    /// Records `reason` as the latest error and counts it.
    mutating func fail(_ reason: String) {
        lastError = reason
        control.errors.wrappingAdd(1, ordering: .relaxed)
    }

    /// The connection ended. A clean close counts nothing; otherwise a connection that never opened counts as
    /// failed to open, and one that did counts `max(1, lostRequests())` errors (`lostRequests` runs only then).
    mutating func closed(error: String?, lostRequests: () -> Int) {
        guard let error else { return }
        if lastError == nil { lastError = error }
        if didOpen {
            control.errors.wrappingAdd(max(1, lostRequests()), ordering: .relaxed)
        } else {
            control.failedToOpen.wrappingAdd(1, ordering: .relaxed)
        }
    }
}
