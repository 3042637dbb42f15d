import EventLoop
import Logging

/// One HTTP/1.1 connection: feeds bytes to `HTTPRequestParser`, answers requests strictly in order (pipelining),
/// writes responses, closes idle connections, and hands the socket over on a protocol upgrade.
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

    private var queue: [HTTPRequestParser.Event] = []
    private var busy = false
    private var closing = false
    private var idleTimer: TimerHandle?
    private var lastActivity = Monotonic.now
    private let remoteAddress: String?

    init(id: UInt64, fd: Int32, loop: EventLoop, configuration: HTTPServerConfiguration,
         responder: any HTTPResponder, logger: Logger, onClose: @escaping @Sendable (UInt64) -> Void) {
        self.id = id
        self.loop = loop
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
        self.onClose = onClose
        parser = HTTPRequestParser(limits: configuration.limits)
        remoteAddress = PeerAddress.of(fd)
        tcp = TCPConnection(fd: fd, loop: loop, highWaterMark: configuration.outboundHighWaterMark)
        tcp.delegate = self
    }

    func start() {
        do {
            try tcp.start()
            armIdleTimer()
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
        lastActivity = Monotonic.now
        let events = parser.feed(bytes)
        guard !events.isEmpty else { return }
        queue.append(contentsOf: events)
        if queue.count >= configuration.maxPipelinedRequests { tcp.pauseReading() }
        processNext()
    }

    func connectionDidDrain(_ connection: TCPConnection) {
        if !closing && queue.count < configuration.maxPipelinedRequests { tcp.resumeReading() }
    }

    func connectionDidReachEndOfInput(_ connection: TCPConnection) {
        // A client may half-close after sending its request: answer what is being answered, then close.
        closing = true
        if !busy && queue.isEmpty { tcp.closeAfterFlushing() }
    }

    func connectionDidClose(_ connection: TCPConnection) {
        if let idleTimer { loop.cancelTimer(idleTimer) }
        idleTimer = nil
        queue.removeAll()
        onClose(id)
    }

    // MARK: Requests

    private func processNext() {
        guard !busy, !tcp.isClosed, !queue.isEmpty else { return }
        let event = queue.removeFirst()
        switch event {
        case .failure(let error):
            queue.removeAll()
            closing = true
            var out: [UInt8] = []
            responder.response(for: error.httpError).serialize(into: &out, keepAlive: false)
            tcp.write(out)
            tcp.closeAfterFlushing()
        case .request(let request):
            dispatch(request, remainder: nil)
        case .upgrade(let request, let remainder):
            dispatch(request, remainder: remainder)
        }
    }

    private func dispatch(_ request: HTTPRequest, remainder: [UInt8]?) {
        busy = true
        let responder = self.responder
        let peer = PeerInfo(connectionID: id, remoteAddress: remoteAddress)
        Task { [self] in
            let result = await responder.respond(to: request, peer: peer)
            loop.execute { [self] in finish(request, result, remainder: remainder) }
        }
    }

    private func finish(_ request: HTTPRequest, _ result: HTTPServerResponse, remainder: [UInt8]?) {
        busy = false
        lastActivity = Monotonic.now
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
                // Requests the client pipelined before half-closing are still answered; then the connection ends.
                if closing && !queue.isEmpty {
                    processNext()
                    return
                }
                closing = true
                tcp.closeAfterFlushing()
                return
            }
            if queue.count < configuration.maxPipelinedRequests { tcp.resumeReading() }
            processNext()
        case .upgrade(let response, let handler):
            var out: [UInt8] = []
            response.serialize(into: &out, keepAlive: true)
            tcp.write(out)
            if let idleTimer { loop.cancelTimer(idleTimer) }
            idleTimer = nil
            let (fd, unsent) = tcp.detach()
            onClose(id)
            handler(UpgradedSocket(fd: fd, pendingInput: remainder ?? [], unsent: unsent, loop: loop))
        }
    }

    // MARK: Idle timeout

    private func armIdleTimer() {
        let timeout = Duration.seconds(configuration.idleTimeoutSeconds)
        idleTimer = loop.scheduleTimer(after: timeout) { [self] in
            idleTimer = nil
            guard !tcp.isClosed else { return }
            let idleFor = Monotonic.now &- lastActivity
            if !busy && queue.isEmpty && idleFor >= UInt64(timeout.nanoseconds) {
                tcp.close()
            } else {
                armIdleTimer()
            }
        }
    }
}
