import EventLoop
import Glibc

/// One server-side WebSocket connection (RFC 6455) on one event loop: wslay decodes what the peer
/// sends, data frames we send go straight to the `TCPConnection`.
///
/// Life cycle: create it on the loop that will run it with the descriptor taken from an
/// `UpgradedSocket` (possibly after moving to another loop), set `delegate`, call `start()`. From
/// then on the connection keeps itself alive until it is closed and has told the delegate with
/// `webSocketDidClose`; the owner only needs a reference to send. Closing follows RFC 6455: a
/// peer's close frame is echoed and the TCP connection closed once the echo is written; after our
/// own close frame we wait up to `closeTimeout` for the peer's. A peer silent for two ping
/// intervals is closed with 1001; one that lets the outbound queue pass `outboundHardLimit` is
/// closed with 1008.
///
/// Backpressure is the owner's decision: `queuedBytes`, `isOverHighWater` and
/// `webSocketDidDrain` describe the outbound queue, `pauseReading`/`resumeReading` stop and
/// restart reading from the peer.
///
/// Loop-bound: every method must be called on `loop`'s thread (checked by precondition).
public final class WebSocketConnection: @unchecked Sendable {
    // @unchecked Sendable, audited: all mutable state is touched only on `loop`'s thread. Entry points
    // check it with `preconditionInEventLoop`; the TCP callbacks, timers and `loop.execute` closures all run
    // on that thread. The type is Sendable only so loop closures can capture it.

    /// Identifies the connection in logs and in the owner's tables.
    public let id: UInt64
    /// The loop the connection runs on.
    public let loop: EventLoop
    /// The limits this connection was created with.
    public let configuration: Configuration
    /// Receives messages and the final close. Held weakly.
    public weak var delegate: (any WebSocketConnectionDelegate)?

    private enum Phase {
        /// Created, `start()` not called yet.
        case created
        /// Messages flow both ways.
        case open
        /// We sent a close frame and wait for the peer's (or the close timeout).
        case closing
        /// The closing handshake finished or the connection failed: the last bytes are flushed,
        /// then TCP is closed (or dropped at the close timeout).
        case draining
        /// TCP is closed.
        case closed
    }

    private var phase = Phase.created
    private let tcp: TCPConnection
    private let tcpEvents: TCPEvents
    private let codec: WslayWebSocketCodec?
    private let codecError: WebSocketCodecError?
    private var pendingInput: [UInt8]
    private var events: [WebSocketEvent] = []
    private var lastActivity: UInt64 = 0
    private var pingTimer: TimerHandle?
    private var closeTimer: TimerHandle?
    private var tcpCloseRequested = false
    /// The code reported to the delegate if TCP closes before a closing handshake decided one.
    private var closeCode: WebSocketCloseCode?
    private var closeNotified = false
    /// Non-zero while running inside the owner's `send` or `close`, where the delegate must not be called.
    private var ownerCallDepth = 0
    /// Keeps the connection alive from `start()` until TCP is closed, like a registered socket.
    private var keepAlive: WebSocketConnection?
    /// The socket's place in the HTTP server's connection limits, released when TCP closes.
    private var lease: ConnectionLease?
    /// Where small frames are assembled (header + payload) so they go out in one write.
    private var scratch: UnsafeMutableRawPointer?
    private var scratchCapacity = 0

    /// Payloads up to this size are copied behind their header and written in one call; larger ones
    /// are written as header + payload (two writes, no copy).
    static let coalesceLimit = 16 * 1024

    /// Wraps an upgraded socket. Call on `loop`'s thread (the descriptor may come from another loop).
    ///
    /// - Parameters:
    ///   - fd: a connected, non-blocking stream socket; the connection owns it from now on.
    ///   - pendingInput: bytes already read from the peer after the HTTP request (WebSocket frames);
    ///     processed by `start()` before anything is read from the socket.
    ///   - unsent: bytes still to be written before anything else (the rest of the 101 response).
    ///   - loop: the loop to run on.
    ///   - configuration: limits and timers.
    ///   - id: the owner's identifier for this connection.
    ///   - lease: the socket's place in the server's connection limits (`UpgradedSocket.lease`); released when
    ///     the TCP connection closes.
    public init(fd: Int32, pendingInput: [UInt8], unsent: [UInt8], loop: EventLoop,
                configuration: Configuration = Configuration(), id: UInt64, lease: ConnectionLease? = nil) {
        self.id = id
        self.lease = lease
        self.loop = loop
        self.configuration = configuration
        self.pendingInput = pendingInput
        tcp = TCPConnection(adopting: fd, unsent: unsent, loop: loop, highWaterMark: configuration.outboundHighWaterMark)
        tcpEvents = TCPEvents()
        do {
            codec = try WslayWebSocketCodec(configuration: .init(maxMessageBytes: configuration.maxMessageBytes))
            codecError = nil
        } catch {
            codec = nil
            codecError = error
        }
        tcpEvents.owner = self
        tcp.delegate = tcpEvents
    }

    deinit {
        // Only a connection that was never started can end here with its descriptor open: a started one
        // keeps itself alive until TCP is closed. It is not registered anywhere, so closing it is safe on
        // any thread.
        if phase == .created && tcp.fd >= 0 { Glibc.close(tcp.fd) }
        scratch?.deallocate()
    }

    // MARK: - Public API

    /// Registers the socket with the loop, then processes `pendingInput` (before reading the
    /// socket). Loop thread. Calling it again does nothing.
    /// - Throws: `SystemError` when the descriptor cannot be registered, `WebSocketCodecError` when
    ///   the codec could not be created. The descriptor is closed then, and the delegate is not called.
    public func start() throws {
        loop.preconditionInEventLoop()
        guard phase == .created else { return }
        do {
            if let codecError { throw codecError }
            try tcp.start()
        } catch {
            phase = .closed
            tcp.delegate = nil
            tcp.close()
            throw error
        }
        phase = .open
        keepAlive = self
        lastActivity = Monotonic.now
        if configuration.pingInterval > .zero {
            schedulePingCheck(at: lastActivity &+ UInt64(configuration.pingInterval.nanoseconds))
        }
        if !pendingInput.isEmpty {
            let input = pendingInput
            pendingInput = []
            input.withUnsafeBytes { received($0) }
        }
    }

    /// Sends one unfragmented data message. Text payloads must be valid UTF-8 (not re-checked).
    /// The bytes are written to the socket at once when it takes them, else copied to the
    /// outbound queue; the caller's buffer is free when this returns. Loop thread.
    ///
    /// Returns false when the connection is not open (not started, closing or closed), and when
    /// the outbound queue passed `outboundHardLimit` with this message: the connection is then
    /// closed with 1008 ("client too slow") and the delegate told on a later loop turn.
    @discardableResult
    public func send(_ kind: WebSocketMessage.Kind, payload: UnsafeRawBufferPointer) -> Bool {
        loop.preconditionInEventLoop()
        guard phase == .open else { return false }
        ownerCallDepth += 1
        defer { ownerCallDepth -= 1 }
        let opcode = WebSocketFrameHeader.opcode(for: kind)
        let count = payload.count
        if count <= Self.coalesceLimit {
            let frame = assembleSmallFrame(opcode: opcode, payload: payload)
            tcp.write(frame)
        } else {
            var header: (UInt64, UInt64) = (0, 0)
            withUnsafeMutableBytes(of: &header) { raw in
                guard let base = raw.baseAddress else { return }
                let length = WebSocketFrameHeader.encode(opcode: opcode, payloadLength: count, into: base)
                tcp.write(UnsafeRawBufferPointer(start: base, count: length))
            }
            tcp.write(payload)
        }
        if tcp.isClosed { return false }
        if tcp.queuedBytes > configuration.outboundHardLimit {
            close(code: .policyViolation,
                  reason: "client too slow: outbound queue over \(configuration.outboundHardLimit) bytes")
            return false
        }
        return true
    }

    /// Bytes accepted by `send` (and control frames) but not yet taken by the kernel.
    public var queuedBytes: Int {
        tcp.queuedBytes + (codec?.pendingOutputByteCount ?? 0)
    }

    /// True once the outbound queue passed `outboundHighWaterMark`, until `webSocketDidDrain`.
    public var isOverHighWater: Bool { tcp.isOverHighWater }

    /// Stops reading from the peer (backpressure towards it) until `resumeReading`. Messages
    /// already decoded from the current read are still delivered. Ignored once closing: the
    /// peer's close frame must be read. Loop thread.
    public func pauseReading() {
        loop.preconditionInEventLoop()
        guard phase == .open else { return }
        tcp.pauseReading()
    }

    /// Undoes `pauseReading`. Loop thread.
    public func resumeReading() {
        loop.preconditionInEventLoop()
        guard phase == .open else { return }
        tcp.resumeReading()
    }

    /// True from `start()` until the connection starts closing (either side) or fails.
    public var isOpen: Bool { phase == .open }

    /// Starts the closing handshake: sends a close frame with `code` and `reason`, stops
    /// delivering messages, and drops TCP when the peer's close arrives or after
    /// `closeTimeout`. A code that may not be sent (`isSendable` false) becomes 1000; a reason
    /// over 123 bytes is cut at a character boundary. The delegate hears `webSocketDidClose`
    /// with `code` on a later loop turn. Does nothing if already closing or closed. Loop thread.
    public func close(code: WebSocketCloseCode, reason: String) {
        loop.preconditionInEventLoop()
        ownerCallDepth += 1
        defer { ownerCallDepth -= 1 }
        switch phase {
        case .created:
            phase = .closed
            closeNotified = true
            tcp.delegate = nil
            tcp.close()
            notifyLater(code)
        case .open:
            let sentCode = code.isSendable ? code : .normalClosure
            closeCode = sentCode
            closeNotified = true
            cancelPingCheck()
            notifyLater(sentCode)
            do {
                try codec?.sendClose(sentCode, reason: Self.truncated(reason, toUTF8Bytes: 123))
                phase = .closing
                tcp.resumeReading()
                armCloseTimer()
                flushCodecOutput()
            } catch {
                // The peer's close (or a failure) was decoded in the batch being delivered right now:
                // the codec already queued the answer, so the handshake is over.
                finishAfterFlush()
            }
        case .closing, .draining, .closed:
            return
        }
    }

    // MARK: - Inbound

    fileprivate func received(_ bytes: UnsafeRawBufferPointer) {
        // While draining, input is read only to be discarded (see `closeTCPAfterClosingHandshake`).
        guard let codec, phase == .open || phase == .closing else { return }
        lastActivity = Monotonic.now
        codec.receive(bytes, into: &events)
        guard !events.isEmpty else {
            flushCodecOutput()
            return
        }
        var batch: [WebSocketEvent] = []
        swap(&batch, &events)
        // The codec's output for this read (a pong per ping, then possibly the echo of a close or our failure
        // close frame) is released frame by frame as the matching events are handled, so that what the
        // delegate sends in reply to a message keeps its place: after the pongs of earlier pings, before the
        // pongs of later ones and before the close.
        for event in batch {
            guard phase != .closed else { break }
            handle(event)
        }
        batch.removeAll(keepingCapacity: true)
        if events.isEmpty { swap(&batch, &events) }
        flushCodecOutput()
        if phase == .draining && !tcpCloseRequested {
            tcpCloseRequested = true
            closeTCPAfterClosingHandshake()
        }
    }

    /// Ends TCP once our last frame is out, as a lingering close: half-close with `shutdown(SHUT_WR)`
    /// after the queue is flushed, so the server sends the
    /// first FIN as RFC 6455 7.1.1 asks, and keep reading and discarding until the peer's EOF (or
    /// the close timeout). Closing at once would make the kernel answer still-unread or in-flight
    /// peer bytes with a reset, which can destroy our close frame before the peer reads it.
    private func closeTCPAfterClosingHandshake() {
        tcp.halfCloseAfterFlushing()
        tcp.resumeReading()
    }

    private func handle(_ event: WebSocketEvent) {
        switch event {
        case .message(let message):
            guard phase == .open else { return }
            message.payload.withUnsafeBytes { payload in
                delegate?.webSocket(self, didReceive: message.kind, payload: payload)
            }
        case .ping:
            flushCodecOutput(frames: 1)
        case .pong:
            // Any bytes at all already refreshed `lastActivity`.
            break
        case .closeReceived(let code, _):
            flushCodecOutput()
            if phase == .open {
                closeCode = code
                notifyNow(code)
            }
            finishAfterFlush()
        case .failed(let code):
            flushCodecOutput()
            if phase == .open {
                closeCode = code
                notifyNow(code)
            }
            finishAfterFlush()
        }
    }

    // MARK: - Outbound

    /// Copies `header + payload` into the scratch buffer and returns it (valid until the next call).
    private func assembleSmallFrame(opcode: UInt8, payload: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let needed = WebSocketFrameHeader.maxByteCount + payload.count
        if needed > scratchCapacity {
            scratch?.deallocate()
            // Grow in powers of two so a connection converges on the size of its typical message.
            var capacity = max(256, scratchCapacity)
            while capacity < needed { capacity *= 2 }
            scratch = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
            scratchCapacity = capacity
        }
        guard let base = scratch else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let headerLength = WebSocketFrameHeader.encode(opcode: opcode, payloadLength: payload.count, into: base)
        if let source = payload.baseAddress, payload.count > 0 {
            (base + headerLength).copyMemory(from: source, byteCount: payload.count)
        }
        return UnsafeRawBufferPointer(start: base, count: headerLength + payload.count)
    }

    /// Moves the codec's output (control frames) to the TCP connection: all of it, or only its first
    /// `frames` frames. The output holds only whole unmasked frames written by the codec, so their
    /// headers can be read back to find the boundaries.
    private func flushCodecOutput(frames: Int = .max) {
        guard let codec, codec.pendingOutputByteCount > 0 else { return }
        let written = codec.withPendingOutput { bytes in
            let length = frames == .max ? bytes.count : Self.lengthOfFrames(frames, in: bytes)
            tcp.write(UnsafeRawBufferPointer(rebasing: bytes[0..<length]))
            return length
        }
        codec.consumeOutput(written)
    }

    /// The byte length of the first `count` complete unmasked frames in `bytes` (all of `bytes` if it
    /// holds fewer, or something unparseable).
    static func lengthOfFrames(_ count: Int, in bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        for _ in 0..<count {
            guard bytes.count - offset >= 2 else { return bytes.count }
            var length = Int(bytes[offset + 1] & 0x7F)
            var header = 2
            if length == 126 {
                guard bytes.count - offset >= 4 else { return bytes.count }
                length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
                header = 4
            } else if length == 127 {
                guard bytes.count - offset >= 10 else { return bytes.count }
                length = 0
                for i in 2..<10 { length = length << 8 | Int(bytes[offset + i]) }
                header = 10
            }
            guard length <= bytes.count - offset - header else { return bytes.count }
            offset += header + length
            if offset == bytes.count { break }
        }
        return offset
    }

    // MARK: - Closing

    /// The closing handshake is over (or failed): write what is queued, then close TCP. Bounded by
    /// the close timeout in case the peer stops reading.
    private func finishAfterFlush() {
        guard phase != .closed else { return }
        phase = .draining
        cancelPingCheck()
        armCloseTimer()
    }

    private func armCloseTimer() {
        guard closeTimer == nil else { return }
        closeTimer = loop.scheduleTimer(after: configuration.closeTimeout) { [self] in
            closeTimer = nil
            tcp.close()
        }
    }

    fileprivate func tcpClosed() {
        phase = .closed
        cancelPingCheck()
        if let closeTimer { loop.cancelTimer(closeTimer) }
        closeTimer = nil
        notifyNow(closeCode ?? .abnormalClosure)
        codec?.consumeOutput(codec?.pendingOutputByteCount ?? 0)
        lease?.release()
        lease = nil
        keepAlive = nil
    }

    fileprivate func tcpDrained() {
        guard phase == .open else { return }
        delegate?.webSocketDidDrain(self)
    }

    private func notifyNow(_ code: WebSocketCloseCode?) {
        guard !closeNotified else { return }
        closeNotified = true
        if ownerCallDepth > 0 {
            notifyLater(code)
        } else {
            delegate?.webSocketDidClose(self, code: code)
        }
    }

    /// Tells the delegate on a later loop turn, so that `send`/`close` never call back into their caller.
    private func notifyLater(_ code: WebSocketCloseCode?) {
        loop.execute { [self] in delegate?.webSocketDidClose(self, code: code) }
    }

    // MARK: - Keep-alive

    private func schedulePingCheck(at deadline: UInt64) {
        let now = Monotonic.now
        let delay = deadline > now ? Duration.nanoseconds(Int64(deadline - now)) : .zero
        pingTimer = loop.scheduleTimer(after: delay) { [self] in
            pingTimer = nil
            checkPeerActivity()
        }
    }

    private func cancelPingCheck() {
        if let pingTimer { loop.cancelTimer(pingTimer) }
        pingTimer = nil
    }

    /// Runs when the peer may have been silent for an interval: pings it, or closes it after two.
    private func checkPeerActivity() {
        guard phase == .open, let codec else { return }
        let interval = UInt64(configuration.pingInterval.nanoseconds)
        let idle = Monotonic.now &- lastActivity
        if idle >= 2 * interval {
            closeCode = .goingAway
            notifyNow(.goingAway)
            try? codec.sendClose(.goingAway, reason: "ping timeout")
            flushCodecOutput()
            // A silent peer will not answer our close: do not wait for it beyond flushing.
            finishAfterFlush()
            tcpCloseRequested = true
            tcp.closeAfterFlushing()
        } else if idle >= interval {
            try? codec.sendPing(UnsafeRawBufferPointer(start: nil, count: 0))
            flushCodecOutput()
            schedulePingCheck(at: lastActivity &+ 2 * interval)
        } else {
            schedulePingCheck(at: lastActivity &+ interval)
        }
    }

    /// `text` cut to at most `limit` UTF-8 bytes without splitting a character.
    static func truncated(_ text: String, toUTF8Bytes limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var result = ""
        var used = 0
        for character in text {
            let size = character.utf8.count
            if used + size > limit { break }
            result.append(character)
            used += size
        }
        return result
    }
}

/// Forwards the TCP connection's callbacks to its WebSocket connection without making those
/// callbacks part of `WebSocketConnection`'s public API.
private final class TCPEvents: TCPConnectionDelegate {
    weak var owner: WebSocketConnection?

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer) {
        owner?.received(bytes)
    }

    func connectionDidDrain(_ connection: TCPConnection) {
        owner?.tcpDrained()
    }

    func connectionDidClose(_ connection: TCPConnection) {
        owner?.tcpClosed()
    }
}
