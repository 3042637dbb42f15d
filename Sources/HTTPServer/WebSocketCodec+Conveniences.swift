/// Array- and String-based conveniences over the pointer-based `WebSocketCodec` requirements.
extension WebSocketCodec {
    /// Processes received bytes and returns the resulting events.
    public func receive(_ bytes: [UInt8]) -> [WebSocketEvent] {
        var events: [WebSocketEvent] = []
        bytes.withUnsafeBytes { receive($0, into: &events) }
        return events
    }

    /// Queues a text message.
    public func sendText(_ text: String) throws(WebSocketCodecError) {
        try send(.text, payload: Array(text.utf8))
    }

    /// Queues a data message from an array.
    public func send(_ kind: WebSocketMessage.Kind, payload: [UInt8]) throws(WebSocketCodecError) {
        var failure: WebSocketCodecError?
        payload.withUnsafeBytes { raw in
            do throws(WebSocketCodecError) { try send(kind, payload: raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Queues a ping from an array.
    public func sendPing(_ payload: [UInt8] = []) throws(WebSocketCodecError) {
        var failure: WebSocketCodecError?
        payload.withUnsafeBytes { raw in
            do throws(WebSocketCodecError) { try sendPing(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Removes and returns all pending output (mainly for tests; the server writes in place).
    public func takeOutput() -> [UInt8] {
        let bytes = withPendingOutput { Array($0) }
        consumeOutput(bytes.count)
        return bytes
    }
}
