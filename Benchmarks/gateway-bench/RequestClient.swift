import EventLoop
import JupyterProtocol

/// One WebSocket client that keeps `inflight` shell requests outstanding on its kernel; requests are built and
/// completed by `RequestPipeline` (reply + iopub idle), the connection is accounted for by `ChannelLink`.
///
/// Loop-bound: created anywhere, then used only on `socket.loop`'s thread.
final class RequestClient: BenchWebSocketDelegate, RequestLoadClient, @unchecked Sendable {
    // @unchecked Sendable, audited: mutable state (`link`, `pipeline`) is touched only on `socket.loop`'s thread
    // (socket callbacks and closures passed to `loop.execute`); shared results go through `control` (atomics) and
    // `latencies` (mutex).
    let index: Int
    let socket: BenchWebSocket
    let control: RunControl
    private var link: ChannelLink
    private let pipeline: RequestPipeline

    init(index: Int, loop: EventLoop, url: GatewayURL, kernelID: String, token: String?, wire: WireProtocol,
         message: LoadOptions.Message, code: String, inflight: Int, control: RunControl, sessionPrefix: String) {
        self.index = index
        self.control = control
        let session = "\(sessionPrefix)-\(index)"
        link = ChannelLink(wire: wire, control: control)
        pipeline = RequestPipeline(session: session, wire: wire, message: message, code: code, inflight: inflight,
                                   control: control)
        socket = BenchWebSocket(loop: loop, url: url, kernelID: kernelID, session: session, token: token, wire: wire)
        socket.delegate = self
    }

    /// The loop the socket is bound to.
    var loop: EventLoop { socket.loop }

    /// Completion times and latencies of the measured requests (any thread).
    var latencies: LatencyLog { pipeline.latencies }

    /// The latest error, if any. Loop thread.
    var lastError: String? { link.lastError }

    /// True while any request is outstanding. Loop thread.
    var hasPending: Bool { pipeline.hasPending }

    /// Sends `count` requests one after another (not counted), then calls `done`. Loop thread.
    func warmUp(count: Int, done: @escaping @Sendable () -> Void) {
        pipeline.expectWarmUp(count: count, done: done)
        if count == 0 || !socket.isOpen {
            pipeline.finishWarmUp()
            return
        }
        send(warmup: true)
        socket.flush()
    }

    /// Starts keeping `inflight` requests outstanding until `control` says stop. Loop thread.
    func begin() {
        pipeline.begin(send: send(warmup:))
        socket.flush()
    }

    /// Abandons outstanding requests; returns how many measured ones there were (the caller counts them as
    /// errors: requests that never completed). Loop thread.
    func abandonPending() -> Int { pipeline.abandonPending() }

    private func send(warmup: Bool) {
        pipeline.send(warmup: warmup) { frame, text in
            if text { socket.queueText(frame) } else { socket.queueBinary(frame) }
        }
    }

    // MARK: - BenchWebSocketDelegate

    func webSocketDidOpen(_ socket: BenchWebSocket, subprotocol: String?) {
        if !link.opened(subprotocol: subprotocol) { socket.abort() }
    }

    func webSocket(_ socket: BenchWebSocket, didReceive payload: UnsafeRawBufferPointer, text: Bool) {
        guard let message = link.receive(payload, text: text) else { return }
        pipeline.process(message, send: send(warmup:), fail: { link.fail($0) })
        socket.flush()
    }

    func webSocketDidClose(_ socket: BenchWebSocket, error: String?) {
        pipeline.halt()
        link.closed(error: error, lostRequests: pipeline.abandonPending)
        pipeline.finishWarmUp()
    }
}
