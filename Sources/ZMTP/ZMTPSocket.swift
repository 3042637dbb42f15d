import CLinuxShim
import EventLoop
import Glibc

/// A ZMTP 3.0 client socket (DEALER, SUB or REQ) on an event loop: connects to one endpoint, performs the NULL
/// handshake, exchanges messages, and reconnects by itself. It replaces a libzmq socket in the gateway's message
/// path without any extra thread: reads, writes, timers and the `onMessage` callback all run on `loop`'s thread.
///
/// Sending is libzmq-like: `send(_:more:)` queues a message frame by frame; the first frame decides (refused when
/// `sendHighWaterMark` messages are queued), later frames of an accepted message are always accepted. Messages
/// sent before the handshake completes are queued and flushed after it; a message partly written to a connection
/// that dies is sent again whole on the next one. Messages already written to a dying connection may be lost
/// (as with libzmq).
///
/// Loop-bound: every method must be called on `loop`'s thread (checked). Call `close()` when done: the socket
/// keeps reconnecting until then.
public final class ZMTPSocket: @unchecked Sendable {
    // @unchecked Sendable, audited: all mutable state is touched only on `loop`'s thread (every entry point checks
    // `preconditionInEventLoop`; the readiness handler and timers run on that thread). The closures given to the
    // loop capture `self` weakly and check `generation`, so a stale one does nothing.

    /// The callback for inbound messages: the frames of one message, in order. Runs on the loop thread. The
    /// array may be kept; it is reused (copy-on-write) for the next message only if it was not.
    public typealias MessageHandler = (_ frames: [[UInt8]]) -> Void

    public let loop: EventLoop
    public let type: ZMTPSocketType
    public let endpoint: ZMTPEndpoint
    public let identity: [UInt8]
    public let options: Options
    public private(set) var counters = Counters()
    /// The last protocol error (nil until one happens).
    public private(set) var lastProtocolError: ZMTPProtocolError?

    private let onMessage: MessageHandler
    private var fd: Int32 = -1
    private var isConnecting = false
    private var isClosed = false
    private var started = false
    /// Bumped whenever the current connection ends, so callbacks and timers of an old one do nothing.
    private var generation: UInt64 = 0
    private var machine: ZMTPConnection
    private var queue = ZMTPOutboundQueue()
    private var inMessage = false
    private var flushScheduled = false
    /// Connection-scoped bytes (greeting, READY, subscription, PONG); written at a message boundary.
    private var control: [UInt8] = []
    private var controlWritten = 0
    private var registeredEvents: EventLoop.Events = 0
    private var reconnectDelay: Duration
    private var reconnectTimer: TimerHandle?
    private var handshakeTimer: TimerHandle?

    /// PONGs and other control bytes beyond this are dropped: a peer that pings without reading gets no more.
    static let maxControlBytes = 64 << 10

    /// Creates a socket; nothing happens until `connect()`. May be called on any thread.
    /// - Parameters:
    ///   - endpoint: `tcp://host:port` or `ipc://path` (see `ZMTPEndpoint`).
    ///   - identity: announced as `Identity` for DEALER and REQ (a ROUTER routes by it); at most 255 bytes.
    ///   - onMessage: called on the loop thread with each complete inbound message.
    /// - Throws: `ZMTPEndpoint.ParseError` for a bad endpoint; `ZMTPProtocolError` (`.malformedCommand`) for an
    ///   identity over 255 bytes.
    public init(loop: EventLoop, type: ZMTPSocketType, endpoint: String, identity: [UInt8] = [],
                options: Options = Options(), onMessage: @escaping MessageHandler) throws {
        guard identity.count <= 255 else {
            throw ZMTPProtocolError(.malformedCommand, "identity of \(identity.count) bytes (at most 255)")
        }
        self.loop = loop
        self.type = type
        self.endpoint = try ZMTPEndpoint(parsing: endpoint)
        self.identity = identity
        self.options = options
        self.onMessage = onMessage
        self.machine = ZMTPConnection(socketType: type, identity: identity, limits: options.limits)
        self.reconnectDelay = options.reconnectInterval
    }

    deinit {
        // Safety net for an owner that forgot `close()`; closing the descriptor also removes it from epoll.
        if fd >= 0 { Glibc.close(fd) }
    }

    /// True once READY has been exchanged on the current connection.
    public var isReady: Bool {
        loop.preconditionInEventLoop()
        return machine.phase == .ready && fd >= 0
    }

    /// Complete messages waiting to be written (including one partly written).
    public var queuedMessages: Int {
        loop.preconditionInEventLoop()
        return queue.messageCount
    }

    /// Starts connecting (non-blocking); from then on the socket reconnects by itself after refusals,
    /// disconnects, protocol errors and handshake timeouts, every `reconnectInterval` doubling up to
    /// `reconnectIntervalMax`. Idempotent; does nothing after `close()`. Loop thread.
    public func connect() {
        loop.preconditionInEventLoop()
        guard !isClosed, !started else { return }
        started = true
        attemptConnect()
    }

    /// Adds a frame to the outbound message; `more` is true for every frame but the last. The bytes are copied.
    ///
    /// A REQ prefixes each message with the empty delimiter frame. A SUB sends nothing (always false).
    ///
    /// Returns false only for the first frame of a message, when `sendHighWaterMark` messages are queued, or
    /// after `close()`; once the first frame is accepted every later frame of that message is. The last frame
    /// completes the message, which is written at the end of the current loop turn together with every other
    /// message completed in that turn (one `sendmsg` for all of them: a client that pipelines requests costs one
    /// system call per turn, not one per request), or once the connection is ready. Loop thread.
    @discardableResult
    public func send(_ frame: UnsafeRawBufferPointer, more: Bool) -> Bool {
        loop.preconditionInEventLoop()
        guard !isClosed, type != .sub else { return false }
        if !inMessage {
            guard queue.messageCount < options.sendHighWaterMark else { return false }
            inMessage = true
            if type == .req {
                // REQ envelope: an empty delimiter frame before the request.
                queue.append(frame: UnsafeRawBufferPointer(start: nil, count: 0), more: true)
            }
        }
        if more {
            queue.append(frame: frame, more: true)
            return true
        }
        inMessage = false
        counters.messagesSent += 1
        queue.append(frame: frame, more: false)
        scheduleFlush()
        return true
    }

    /// Sends a whole message (convenience over `send(_:more:)`). Returns false when it is refused.
    @discardableResult
    public func send(frames: [[UInt8]]) -> Bool {
        loop.preconditionInEventLoop()
        guard !frames.isEmpty else { return false }
        for (i, frame) in frames.enumerated() {
            let accepted = frame.withUnsafeBytes { send($0, more: i < frames.count - 1) }
            if !accepted { return false }
        }
        return true
    }

    /// Closes the connection and stops reconnecting; queued messages are dropped and `send` returns false from
    /// now on. Idempotent. Loop thread.
    public func close() {
        loop.preconditionInEventLoop()
        guard !isClosed else { return }
        isClosed = true
        dropConnection()
        if let reconnectTimer { loop.cancelTimer(reconnectTimer) }
        reconnectTimer = nil
        queue.removeAll()
        inMessage = false
    }

    // MARK: - Connecting

    private func attemptConnect() {
        reconnectTimer = nil
        guard !isClosed, fd < 0 else { return }
        counters.connectAttempts += 1
        let family: Int32
        switch endpoint {
        case .tcp(_, _, let f): family = f
        case .ipc: family = AF_UNIX
        }
        let socket = kg_stream_socket(family)
        guard socket >= 0 else { return scheduleReconnect() }
        let rc: Int32
        switch endpoint {
        case .tcp(let host, let port, let family):
            _ = kg_set_nodelay(socket)
            rc = host.withCString { kg_connect_inet(socket, family, $0, port) }
        case .ipc(let path):
            rc = path.withCString { kg_connect_unix(socket, $0) }
        }
        let error = rc == 0 ? 0 : errno
        guard rc == 0 || error == EINPROGRESS else {
            Glibc.close(socket)
            return scheduleReconnect()
        }
        fd = socket
        generation &+= 1
        let current = generation
        isConnecting = rc != 0
        let events = isConnecting ? EventLoop.writable : EventLoop.readable
        do {
            try loop.register(fd: socket, events: events) { [weak self] events in
                guard let self, self.generation == current else { return }
                self.handle(events)
            }
        } catch {
            Glibc.close(socket)
            fd = -1
            isConnecting = false
            return scheduleReconnect()
        }
        registeredEvents = events
        handshakeTimer = loop.scheduleTimer(after: options.handshakeTimeout) { [weak self] in
            guard let self, self.generation == current, self.machine.phase != .ready else { return }
            self.counters.handshakeTimeouts += 1
            self.disconnect()
        }
        if !isConnecting { didConnect() }
    }

    private func didConnect() {
        isConnecting = false
        if let expected = options.expectedPeerUID, case .ipc = endpoint, kg_peer_uid(fd) != Int64(expected) {
            counters.peerRefusals += 1
            dropConnection()
            // Not the kernel's socket: somebody redirected the path. Retry slowly (the kernel looks unreachable),
            // so a kernel cannot aim hundreds of connects a second at another listener.
            reconnectDelay = max(reconnectDelay, .seconds(1))
            return scheduleReconnect()
        }
        counters.connects += 1
        control.append(contentsOf: machine.connected())
        flush()
    }

    private func scheduleReconnect() {
        guard !isClosed, reconnectTimer == nil else { return }
        let delay = reconnectDelay
        reconnectDelay = min(reconnectDelay * 2, max(options.reconnectIntervalMax, delay))
        reconnectTimer = loop.scheduleTimer(after: delay) { [weak self] in
            self?.attemptConnect()
        }
    }

    /// Ends the current connection (if any) and schedules the next attempt.
    private func disconnect() {
        let wasConnected = fd >= 0 && !isConnecting
        dropConnection()
        if wasConnected { counters.disconnects += 1 }
        scheduleReconnect()
    }

    private func dropConnection() {
        if fd >= 0 {
            loop.deregister(fd: fd)
            Glibc.close(fd)
            fd = -1
        }
        generation &+= 1
        isConnecting = false
        registeredEvents = 0
        if let handshakeTimer { loop.cancelTimer(handshakeTimer) }
        handshakeTimer = nil
        machine = ZMTPConnection(socketType: type, identity: identity, limits: options.limits)
        control.removeAll(keepingCapacity: true)
        controlWritten = 0
        queue.rewind()
    }

    // MARK: - Readiness

    private func handle(_ events: EventLoop.Events) {
        if isConnecting {
            // The outcome of a non-blocking connect: writable with no pending error means connected.
            if kg_socket_error(fd) != 0 || events & EventLoop.writable == 0 {
                dropConnection()
                return scheduleReconnect()
            }
            return didConnect()
        }
        let current = generation
        if events & EventLoop.writable != 0 { flush() }
        guard generation == current else { return }
        if events & (EventLoop.readable | EventLoop.hangup) != 0 { readAvailable() }
    }

    private func readAvailable() {
        let current = generation
        let scratch = loop.readScratch
        for _ in 0..<options.readsPerWakeup {
            let n = Glibc.read(fd, scratch.baseAddress, scratch.count)
            if n > 0 {
                process(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
                guard generation == current else { return }
                if n < scratch.count { break }
            } else if n == 0 {
                return disconnect()
            } else {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { break }
                return disconnect()
            }
        }
        if !control.isEmpty { flush() }
    }

    private func process(_ input: UnsafeRawBufferPointer) {
        let current = generation
        var offset = 0
        while true {
            let step = machine.advance(UnsafeRawBufferPointer(rebasing: input[offset...]))
            offset += step.consumed
            guard let action = step.action else { return }
            switch action {
            case .send(let bytes):
                if control.count - controlWritten + bytes.count <= Self.maxControlBytes {
                    control.append(contentsOf: bytes)
                }
            case .handshakeComplete:
                counters.handshakes += 1
                reconnectDelay = options.reconnectInterval
                if let handshakeTimer { loop.cancelTimer(handshakeTimer) }
                handshakeTimer = nil
                flush()
            case .deliver(let frames):
                counters.messagesReceived += 1
                onMessage(frames)
            case .fail(let error):
                counters.protocolErrors += 1
                lastProtocolError = error
                disconnect()
            }
            // The callback may have closed us, or a write may have failed: stop feeding the old connection.
            guard generation == current else { return }
        }
    }

    // MARK: - Writing

    /// Flushes at the end of the current loop turn, unless the socket waits for `EPOLLOUT` (which flushes) or is
    /// not connected (the handshake flushes).
    private func scheduleFlush() {
        guard !flushScheduled, fd >= 0, !isConnecting, registeredEvents & EventLoop.writable == 0 else { return }
        flushScheduled = true
        loop.execute { [weak self] in
            guard let self else { return }
            self.flushScheduled = false
            self.flush()
        }
    }

    /// Writes control bytes at message boundaries and queued messages once ready, until the socket is full.
    private func flush() {
        guard fd >= 0, !isConnecting else { return }
        while true {
            if controlWritten < control.count && queue.isAtMessageBoundary {
                let n = control.withUnsafeBytes { raw in
                    gatherWrite(UnsafeRawBufferPointer(rebasing: raw[controlWritten...]))
                }
                if n < 0 { return disconnect() }
                controlWritten += n
                if controlWritten < control.count { break }
                control.removeAll(keepingCapacity: control.capacity <= 4096)
                controlWritten = 0
            } else if machine.phase == .ready && queue.unwrittenCount > 0 {
                let n = queue.withUnwritten { gatherWrite($0) }
                if n < 0 { return disconnect() }
                if n == 0 { break }
                queue.didWrite(n)
                if queue.unwrittenCount > 0 { break }
            } else {
                break
            }
        }
        updateInterest()
    }

    /// One `sendmsg` of up to three buffers; returns the bytes taken (0 when the socket is full) or -1 on a
    /// connection error. MSG_NOSIGNAL: a peer that went away must not raise SIGPIPE.
    private func gatherWrite(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
                             _ c: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) -> Int {
        withUnsafeTemporaryAllocation(of: iovec.self, capacity: 3) { vectors in
            var count = 0
            func add(_ buffer: UnsafeRawBufferPointer) {
                guard buffer.count > 0 else { return }
                vectors[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: buffer.baseAddress), iov_len: buffer.count)
                count += 1
            }
            add(a)
            add(b)
            add(c)
            if count == 0 { return 0 }
            var header = msghdr()
            header.msg_iov = vectors.baseAddress
            header.msg_iovlen = count
            while true {
                let n = Glibc.sendmsg(fd, &header, Int32(MSG_NOSIGNAL))
                if n >= 0 { return n }
                if errno == EINTR { continue }
                return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1
            }
        }
    }

    private func updateInterest() {
        guard fd >= 0, !isConnecting else { return }
        let wantsWrite = controlWritten < control.count || (machine.phase == .ready && queue.unwrittenCount > 0)
        let events = EventLoop.readable | UInt32(EPOLLRDHUP.rawValue) | (wantsWrite ? EventLoop.writable : 0)
        guard events != registeredEvents else { return }
        do {
            try loop.modify(fd: fd, events: events)
            registeredEvents = events
        } catch {
            disconnect()
        }
    }
}
