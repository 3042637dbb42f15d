import EventLoop
import Logging

/// One HTTP/1.1 connection: feeds bytes to `HTTPRequestParser`, answers requests strictly in order (pipelining),
/// writes responses, enforces the input deadlines (`ReceiveDeadlines`: idle, head, body), and hands the socket over
/// on a protocol upgrade.
///
/// An answer that ends the connection while input may still be unread (a parse error, a request refused on its
/// head, a timeout) is followed by a lingering close: our side is shut down after the answer, and what the peer
/// still sends is read and dropped until it closes or `lingerTimeout` passes. Closing at once would reset the
/// connection, and a client still sending its body could lose the answer.
///
/// Loop-bound: created and used on `loop`'s thread only. The responder runs in a task; its result comes back to
/// the loop with `loop.execute`.
final class HTTPConnection: TCPConnectionDelegate, @unchecked Sendable {
    // @unchecked Sendable, audited: every mutable property is touched on `loop`'s thread only (TCP callbacks,
    // timers and `loop.execute` closures); the responder task captures only Sendable values.
    let id: UInt64
    let loop: EventLoop
    private let tcp: TCPConnection
    private let parser: HTTPRequestParser
    private let configuration: HTTPServerConfiguration
    private let responder: any HTTPResponder
    private let logger: Logger
    private let onClose: @Sendable (UInt64) -> Void
    private let peer: PeerInfo
    /// The connection's place in the server's limits; released on close, handed on with an upgraded socket.
    private var lease: ConnectionLease?

    private var queue: [HTTPRequestParser.Event] = []
    private var busy = false
    private var closing = false
    /// Input is no longer parsed (a deadline passed, or the answer that ends the connection is written).
    private var inputEnded = false
    private var deadlines: ReceiveDeadlines
    private var timer: TimerHandle?
    private var lingerTimer: TimerHandle?

    init(id: UInt64, fd: Int32, remoteAddress: String?, lease: ConnectionLease?, loop: EventLoop,
         configuration: HTTPServerConfiguration, responder: any HTTPResponder, logger: Logger,
         onClose: @escaping @Sendable (UInt64) -> Void) {
        self.id = id
        self.loop = loop
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
        self.onClose = onClose
        self.lease = lease
        let peer = PeerInfo(connectionID: id, remoteAddress: remoteAddress)
        self.peer = peer
        parser = HTTPRequestParser(limits: configuration.limits) { head in responder.authorizeHead(head, peer: peer) }
        deadlines = ReceiveDeadlines(
            timeouts: .init(idle: .seconds(configuration.idleTimeoutSeconds), head: configuration.headerTimeout,
                            body: configuration.bodyTimeout),
            now: Monotonic.now)
        tcp = TCPConnection(fd: fd, loop: loop, highWaterMark: configuration.outboundHighWaterMark)
        tcp.delegate = self
    }

    func start() {
        do {
            try tcp.start()
            armTimer()
        } catch {
            logger.warning("cannot register connection", metadata: ["error": "\(error)"])
            tcp.close()
        }
    }

    /// Closes now if no request is being answered; otherwise after the current response.
    func closeWhenIdle() {
        closing = true
        if !busy && queue.isEmpty { tcp.closeAfterFlushing() }
    }

    // MARK: TCPConnectionDelegate

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer) {
        guard !inputEnded else { return }  // lingering: dropped unread
        let events = parser.feed(bytes)
        deadlines.observe(parser.progress, now: Monotonic.now)
        guard !events.isEmpty else { return }
        queue.append(contentsOf: events)
        if queue.count >= configuration.maxPipelinedRequests { pauseReading() }
        processNext()
    }

    func connectionDidDrain(_ connection: TCPConnection) {
        if !closing && queue.count < configuration.maxPipelinedRequests { resumeReading() }
    }

    func connectionDidReachEndOfInput(_ connection: TCPConnection) {
        // A client may half-close after sending its request: answer what is being answered, then close. A
        // lingering connection ends here too: the peer sent everything it had.
        closing = true
        if !busy && queue.isEmpty { tcp.closeAfterFlushing() }
    }

    func connectionDidClose(_ connection: TCPConnection) {
        cancelTimers()
        queue.removeAll()
        lease?.release()
        lease = nil
        onClose(id)
    }

    // MARK: Requests

    private func processNext() {
        guard !busy, !tcp.isClosed, !queue.isEmpty else { return }
        let event = queue.removeFirst()
        switch event {
        case .failure(let error):
            answerAndLinger(responder.response(for: error.httpError))
        case .rejected(let request, let response):
            if request.keepAlive {
                finish(request, .response(response), remainder: nil)
            } else {
                // Refused on its head: its body (if any) was never read and may still be arriving.
                answerAndLinger(response, isHeadResponse: request.method == .head)
            }
        case .request(let request):
            dispatch(request, remainder: nil)
        case .upgrade(let request, let remainder):
            dispatch(request, remainder: remainder)
        }
    }

    private func dispatch(_ request: HTTPRequest, remainder: [UInt8]?) {
        busy = true
        deadlines.admitted()
        let responder = self.responder
        let peer = self.peer
        Task { [self] in
            let result = await responder.respond(to: request, peer: peer)
            loop.execute { [self] in finish(request, result, remainder: remainder) }
        }
    }

    private func finish(_ request: HTTPRequest, _ result: HTTPServerResponse, remainder: [UInt8]?) {
        busy = false
        deadlines.responded(now: Monotonic.now)
        guard !tcp.isClosed else { return }
        switch result {
        case .response(let response):
            // A request that asked to upgrade but was refused ends the connection: the peer may already be
            // sending frames of the new protocol.
            let keepAlive = request.keepAlive && !closing && remainder == nil
            var out: [UInt8] = []
            response.serialize(into: &out, keepAlive: keepAlive, isHeadResponse: request.method == .head)
            tcp.write(out)
            if !keepAlive {
                // Requests the client pipelined before half-closing, or a timeout, are still answered; then the
                // connection ends.
                if closing && !queue.isEmpty {
                    processNext()
                    return
                }
                closing = true
                tcp.closeAfterFlushing()
                return
            }
            if queue.count < configuration.maxPipelinedRequests { resumeReading() }
            processNext()
        case .upgrade(let response, let handler):
            var out: [UInt8] = []
            response.serialize(into: &out, keepAlive: true)
            tcp.write(out)
            cancelTimers()
            let (fd, unsent) = tcp.detach()
            let lease = self.lease
            self.lease = nil
            onClose(id)
            handler(UpgradedSocket(fd: fd, pendingInput: remainder ?? [], unsent: unsent, loop: loop, lease: lease))
        }
    }

    /// Writes the last answer of the connection, then closes with a linger (see the type's documentation).
    private func answerAndLinger(_ response: HTTPResponse, isHeadResponse: Bool = false) {
        queue.removeAll()
        closing = true
        inputEnded = true
        var out: [UInt8] = []
        response.serialize(into: &out, keepAlive: false, isHeadResponse: isHeadResponse)
        tcp.write(out)
        tcp.halfCloseAfterFlushing()
        tcp.resumeReading()
        lingerTimer = loop.scheduleTimer(after: configuration.lingerTimeout) { [self] in
            lingerTimer = nil
            tcp.close()
        }
    }

    private func pauseReading() {
        tcp.pauseReading()
        deadlines.pause()
    }

    private func resumeReading() {
        guard !inputEnded else { return }
        tcp.resumeReading()
        deadlines.resume(now: Monotonic.now)
    }

    // MARK: Deadlines

    /// Arms the connection's one timer (see `ReceiveDeadlines.nextCheck`); it re-arms itself until the connection
    /// closes, is upgraded, or has its input ended.
    private func armTimer() {
        let now = Monotonic.now
        let at = deadlines.nextCheck(now: now, answering: busy || !queue.isEmpty)
        timer = loop.scheduleTimer(after: .nanoseconds(Int64(clamping: at &- now))) { [self] in
            timer = nil
            checkDeadlines()
        }
    }

    private func checkDeadlines() {
        guard !tcp.isClosed, !inputEnded else { return }
        switch deadlines.expired(now: Monotonic.now, answering: busy || !queue.isEmpty) {
        case nil:
            armTimer()
        case .idle:
            tcp.close()
        case .head:
            timedOut(.head, after: configuration.headerTimeout)
        case .body:
            timedOut(.body, after: configuration.bodyTimeout)
        }
    }

    /// Stops reading the request; the 408 goes out after the answers owed for earlier requests.
    private func timedOut(_ stage: HTTPRequestParser.Stage, after timeout: Duration) {
        responder.observe(.requestTimedOut(stage))
        logger.debug("request timed out", metadata: ["stage": "\(stage)", "remote": "\(peer.remoteAddress ?? "")"])
        inputEnded = true
        closing = true
        tcp.pauseReading()
        let part = stage == .head ? "head" : "body"
        queue.append(.failure(HTTPParseError(.requestTimeout, detail: "request \(part) not received within \(timeout)")))
        processNext()
    }

    private func cancelTimers() {
        if let timer { loop.cancelTimer(timer) }
        if let lingerTimer { loop.cancelTimer(lingerTimer) }
        timer = nil
        lingerTimer = nil
    }
}
