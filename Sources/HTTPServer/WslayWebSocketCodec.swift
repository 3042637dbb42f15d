import CWslay

/// `WebSocketCodec` on the C library wslay (event API, server mode), driven entirely from memory:
/// wslay's recv callback reads from the chunk passed to `receive`, its send callback appends to an
/// output `ByteQueue`. Every call flushes wslay's send queue into that output immediately, so wslay
/// itself never holds queued frames between calls.
///
/// What wslay enforces: masking, reserved bits and opcodes, control-frame rules, fragmentation
/// order, close-code validity, and `maxMessageBytes` (closing with 1002 / 1009). What this type
/// adds: its own strict UTF-8 check of text messages and close reasons (1007, fail-fast per
/// fragment), a 1002 for a 1-byte close payload (wslay accepts it), and a proper 1002 close for
/// frame-layer violations where wslay would queue a close without a status code.
///
/// Ownership and threading: a non-Sendable class owned by one connection and used on that
/// connection's event-loop thread only. It owns the wslay context and frees it in `deinit`.
public final class WslayWebSocketCodec: WebSocketCodec {
    /// Codec settings.
    public struct Configuration: Sendable, Equatable {
        /// Largest reassembled data message accepted; a larger one fails the connection with 1009
        /// as soon as a frame header announces it (before its payload is buffered).
        public var maxMessageBytes: Int

        /// Creates a configuration.
        public init(maxMessageBytes: Int = 16 * 1024 * 1024) {
            self.maxMessageBytes = maxMessageBytes
        }
    }

    /// The settings this codec was created with.
    public let configuration: Configuration
    /// See `WebSocketCodec`.
    public private(set) var state: WebSocketCodecState = .open

    private var context: OpaquePointer?

    // State touched by the C callbacks (WslayWebSocketCodec+Callbacks.swift) during wslay calls.
    var input = UnsafeRawBufferPointer(start: nil, count: 0)
    var inputOffset = 0
    var output = ByteQueue()
    var events: [WebSocketEvent] = []
    var frameOpcode: UInt8 = 0
    var frameFin = false
    var messageIsText = false
    var textValidator = UTF8Validator()
    var controlPayload: [UInt8] = []
    /// Set once we fail the connection; afterwards callbacks report nothing more.
    var failure: WebSocketCloseCode?
    /// Set once the peer's close frame was reported.
    var closeReported = false
    /// Set when the application queued a close with `sendClose`.
    var closeRequested = false

    /// Creates a server-side codec. Throws `.initializationFailed` if wslay cannot allocate its
    /// context.
    public init(configuration: Configuration = Configuration()) throws(WebSocketCodecError) {
        self.configuration = configuration
        var callbacks = Self.makeCallbacks()
        var created: OpaquePointer?
        // Unretained: the context is owned by self and freed in deinit, so wslay can never call
        // back with a pointer to a deallocated codec.
        let status = wslay_event_context_server_init(&created, &callbacks, Unmanaged.passUnretained(self).toOpaque())
        guard status == 0, let created else {
            throw WebSocketCodecError(.initializationFailed, detail: "wslay_event_context_server_init returned \(status)")
        }
        context = created
        wslay_event_config_set_max_recv_msg_length(created, UInt64(max(0, configuration.maxMessageBytes)))
    }

    deinit {
        if let context { wslay_event_context_free(context) }
    }

    /// See `WebSocketCodec`.
    public var pendingOutputByteCount: Int {
        output.count + (context.map { wslay_event_get_queued_msg_length($0) } ?? 0)
    }

    /// See `WebSocketCodec`.
    public func receive(_ bytes: UnsafeRawBufferPointer, into out: inout [WebSocketEvent]) {
        guard let context, bytes.count > 0, state != .closed else { return }
        input = bytes
        inputOffset = 0
        defer { input = UnsafeRawBufferPointer(start: nil, count: 0) }
        var status: Int32 = 0
        // wslay stops at WOULDBLOCK, which the recv callback reports only once the chunk is used
        // up; loop defensively in case it returns early with input left.
        while wslay_event_get_read_enabled(context) != 0 && inputOffset < input.count {
            let before = inputOffset
            status = wslay_event_recv(context)
            if status != 0 || inputOffset == before { break }
        }
        if status != 0 && failure == nil {
            // WSLAY_ERR_CALLBACK_FAILURE here means the frame layer found a protocol violation
            // (bad length encoding, oversized or fragmented control frame); wslay then queues a
            // close *without* a status code. Anything else is an allocation failure.
            failWithOwnCloseFrame(status == WSLAY_ERR_CALLBACK_FAILURE.rawValue ? .protocolError : .internalError)
        }
        flush()
        if failure == nil && !closeRequested && !closeReported
            && wslay_event_get_close_sent(context) != 0 && wslay_event_get_close_received(context) == 0 {
            // wslay itself closed with a status code (1002, 1007, 1009) without telling a callback.
            let code = WebSocketCloseCode(rawValue: wslay_event_get_status_code_sent(context))
            failure = code
            events.append(.failed(code))
        }
        updateState()
        out.append(contentsOf: events)
        events.removeAll(keepingCapacity: true)
    }

    /// See `WebSocketCodec`.
    public func send(_ kind: WebSocketMessage.Kind, payload: UnsafeRawBufferPointer) throws(WebSocketCodecError) {
        try queue(opcode: kind == .text ? UInt8(WSLAY_TEXT_FRAME.rawValue) : UInt8(WSLAY_BINARY_FRAME.rawValue), payload: payload)
    }

    /// See `WebSocketCodec`.
    public func sendPing(_ payload: UnsafeRawBufferPointer) throws(WebSocketCodecError) {
        guard payload.count <= 125 else {
            throw WebSocketCodecError(.invalidArgument, detail: "ping payload longer than 125 bytes")
        }
        try queue(opcode: UInt8(WSLAY_PING.rawValue), payload: payload)
    }

    /// See `WebSocketCodec`.
    public func sendClose(_ code: WebSocketCloseCode, reason: String) throws(WebSocketCodecError) {
        guard let context, state == .open else { throw WebSocketCodecError(.closed, detail: "close already sent") }
        guard code.isSendable else { throw WebSocketCodecError(.invalidArgument, detail: "close code \(code) may not be sent") }
        let reasonBytes = Array(reason.utf8)
        guard reasonBytes.count <= 123 else {
            throw WebSocketCodecError(.invalidArgument, detail: "close reason longer than 123 bytes")
        }
        let status = reasonBytes.withUnsafeBufferPointer { buffer in
            wslay_event_queue_close(context, code.rawValue, buffer.baseAddress, buffer.count)
        }
        try check(status)
        closeRequested = true
        flush()
        updateState()
    }

    /// See `WebSocketCodec`.
    public func withPendingOutput<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        output.withReadableBytes(body)
    }

    /// See `WebSocketCodec`.
    public func consumeOutput(_ count: Int) {
        output.consume(count)
    }

    private func queue(opcode: UInt8, payload: UnsafeRawBufferPointer) throws(WebSocketCodecError) {
        guard let context, state == .open else { throw WebSocketCodecError(.closed, detail: "close already sent") }
        var message = wslay_event_msg(
            opcode: opcode, msg: payload.baseAddress?.assumingMemoryBound(to: UInt8.self), msg_length: payload.count)
        try check(wslay_event_queue_msg(context, &message))
        flush()
    }

    private func check(_ status: Int32) throws(WebSocketCodecError) {
        switch status {
        case 0: return
        case WSLAY_ERR_NO_MORE_MSG.rawValue: throw WebSocketCodecError(.closed, detail: "close already queued")
        case WSLAY_ERR_INVALID_ARGUMENT.rawValue: throw WebSocketCodecError(.invalidArgument, detail: "rejected by wslay")
        default: throw WebSocketCodecError(.outOfMemory, detail: "wslay error \(status)")
        }
    }

    /// Moves everything wslay has queued into `output`. The send callback never blocks, so one
    /// call drains the queue; it can only fail on allocation failure, which stops output.
    private func flush() {
        guard let context else { return }
        if wslay_event_want_write(context) != 0 && wslay_event_send(context) != 0 && failure == nil {
            failure = .internalError
            events.append(.failed(.internalError))
        }
    }

    /// Fails the connection from a callback with a code wslay did not pick itself. Queues the
    /// close through wslay (a no-op if one is already queued) and stops reading.
    func fail(_ code: WebSocketCloseCode) {
        guard failure == nil, let context else { return }
        failure = code
        _ = wslay_event_queue_close(context, code.rawValue, nil, 0)
        wslay_event_shutdown_read(context)
        events.append(.failed(code))
    }

    /// Fails the connection after wslay queued a close without a status code: drop wslay's output
    /// (only that close can be in it, as every call flushes) and write the close frame ourselves.
    private func failWithOwnCloseFrame(_ code: WebSocketCloseCode) {
        guard let context else { return }
        failure = code
        wslay_event_shutdown_read(context)
        if wslay_event_get_close_sent(context) == 0 {
            wslay_event_shutdown_write(context)
            // Server frames are unmasked: FIN + opcode 8, length 2, then the code in network order.
            output.append(contentsOf: [0x88, 0x02, UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xFF)])
        }
        events.append(.failed(code))
    }

    private func updateState() {
        guard let context else {
            state = .closed
            return
        }
        let sent = wslay_event_get_close_sent(context) != 0 || wslay_event_get_write_enabled(context) == 0
        let received = wslay_event_get_close_received(context) != 0
        if failure != nil || (sent && received) {
            state = .closed
        } else if sent {
            state = .closing
        } else {
            state = .open
        }
    }
}
