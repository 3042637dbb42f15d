import EventLoop
import JupyterProtocol

/// One WebSocket client that keeps `inflight` shell requests outstanding on its kernel.
///
/// A request completes only when both its `*_reply` (on shell) and the iopub `status: idle` whose parent is the
/// request have arrived; its latency is from just before the frame was queued to the later of the two. A reply
/// with `status` other than `ok` counts as an error (the request still completes). Messages parented to other
/// clients' requests (iopub fans out to every client of a kernel) are counted as received and otherwise ignored.
///
/// Loop-bound: created anywhere, then used only on `socket.loop`'s thread.
final class RequestClient: BenchWebSocketDelegate, @unchecked Sendable {
    // @unchecked Sendable, audited: mutable state is touched only on `socket.loop`'s thread (socket callbacks and
    // closures passed to `loop.execute`); shared results go through `control` (atomics) and `latencies` (mutex).
    let index: Int
    let socket: BenchWebSocket
    let control: RunControl
    let latencies = LatencyLog()
    private var encoder: RequestEncoder
    private let wire: WireProtocol
    private let msgType: StaticString
    private let content: [UInt8]
    private let inflight: Int
    private var nextSeq: UInt64 = 0
    private var pending: [UInt64: Pending] = [:]
    private(set) var lastError: String?
    private var running = false
    private var didOpen = false
    private var warmupLeft = 0
    private var onWarm: (@Sendable () -> Void)?

    private struct Pending {
        var start: UInt64
        var replied = false
        var idle = false
        var warmup = false
    }

    init(index: Int, loop: EventLoop, url: GatewayURL, kernelID: String, token: String?, wire: WireProtocol,
         message: LoadOptions.Message, code: String, inflight: Int, control: RunControl, sessionPrefix: String) {
        self.index = index
        self.control = control
        self.wire = wire
        self.inflight = inflight
        let session = "\(sessionPrefix)-\(index)"
        encoder = RequestEncoder(prefix: "\(session)-", session: session, wire: wire)
        switch message {
        case .kernelInfo:
            msgType = "kernel_info_request"
            content = RequestEncoder.kernelInfoContent
        case .execute:
            msgType = "execute_request"
            content = RequestEncoder.executeContent(code: code)
        }
        socket = BenchWebSocket(loop: loop, url: url, path: url.path("api/kernels/\(kernelID)/channels?session_id=\(session)"),
                                token: token, subprotocol: wire == .v1 ? V1WebSocketCodec.subprotocol : nil)
        socket.delegate = self
    }

    var hasPending: Bool { !pending.isEmpty }

    /// Sends `count` requests one after another (not counted), then calls `done`. Loop thread.
    func warmUp(count: Int, done: @escaping @Sendable () -> Void) {
        warmupLeft = count
        onWarm = done
        if count == 0 || !socket.isOpen {
            onWarm = nil
            done()
            return
        }
        send(warmup: true)
        socket.flush()
    }

    /// Starts keeping `inflight` requests outstanding until `control` says stop. Loop thread.
    func begin() {
        running = true
        for _ in 0..<inflight {
            guard control.reserve() else { break }
            send(warmup: false)
        }
        socket.flush()
    }

    /// Abandons outstanding requests, counting them as errors (a request that never completed). Loop thread.
    func abandonPending() -> Int {
        let n = pending.values.filter { !$0.warmup }.count
        pending.removeAll()
        return n
    }

    private func send(warmup: Bool) {
        let seq = nextSeq
        nextSeq += 1
        let start = Monotonic.now
        encoder.encode(msgType: msgType, content: content, seq: seq) { frame, text in
            if text { socket.queueText(frame) } else { socket.queueBinary(frame) }
        }
        pending[seq] = Pending(start: start, warmup: warmup)
        control.wsSent.wrappingAdd(1, ordering: .relaxed)
    }

    // MARK: - BenchWebSocketDelegate

    func webSocketDidOpen(_ socket: BenchWebSocket, subprotocol: String?) {
        if wire == .v1 && subprotocol != V1WebSocketCodec.subprotocol {
            lastError = "server did not accept the v1 subprotocol"
            socket.abort()
            return
        }
        didOpen = true
        control.opened.wrappingAdd(1, ordering: .relaxed)
    }

    func webSocket(_ socket: BenchWebSocket, didReceive payload: UnsafeRawBufferPointer, text: Bool) {
        control.wsReceived.wrappingAdd(1, ordering: .relaxed)
        let message: InboundMessage
        do { message = try InboundMessage(frame: payload, text: text, wire: wire) } catch {
            lastError = "undecodable message: \(error)"
            control.errors.wrappingAdd(1, ordering: .relaxed)
            return
        }
        guard let seq = message.parentSequence(prefix: encoder.prefix), var request = pending[seq] else { return }
        if message.channel == .shell && message.isReply {
            request.replied = true
            if !message.contentString("status", is: "ok") {
                lastError = "reply status is not ok"
                control.errors.wrappingAdd(1, ordering: .relaxed)
            }
        } else if message.channel == .iopub && message.isType("status") && message.contentString("execution_state", is: "idle") {
            request.idle = true
        } else {
            return
        }
        guard request.replied && request.idle else {
            pending[seq] = request
            return
        }
        pending[seq] = nil
        let now = Monotonic.now
        if request.warmup {
            warmupLeft -= 1
            if warmupLeft > 0 {
                send(warmup: true)
            } else if let done = onWarm {
                onWarm = nil
                done()
            }
        } else {
            latencies.record(at: now, latency: now &- request.start)
            control.completed.wrappingAdd(1, ordering: .relaxed)
            if running && control.reserve() { send(warmup: false) }
        }
        socket.flush()
    }

    func webSocketDidClose(_ socket: BenchWebSocket, error: String?) {
        running = false
        if let error {
            if lastError == nil { lastError = error }
            if !didOpen {
                control.failedToOpen.wrappingAdd(1, ordering: .relaxed)
            } else {
                let lost = abandonPending()
                control.errors.wrappingAdd(max(1, lost), ordering: .relaxed)
            }
        }
        if let done = onWarm {
            onWarm = nil
            done()
        }
    }
}
