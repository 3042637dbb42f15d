import EventLoop
import JupyterProtocol

/// The request side every request-measuring load client shares (`RequestClient` over the gateway's WebSocket,
/// `DirectClient` over ZeroMQ): encodes one client's shell requests, keeps `inflight` of them outstanding, and
/// completes each by one rule, so the two transports are measured alike.
///
/// A request completes only when both its `*_reply` (on shell) and the iopub `status: idle` whose parent is the
/// request have arrived; its latency is from just before the frame was encoded to the later of the two. A reply
/// with `status` other than `ok` counts as an error (the request still completes). Messages parented to other
/// clients' requests (iopub fans out to every client of a kernel) are ignored. Warm-up requests complete by the
/// same rule but are neither counted nor measured.
///
/// The transport stays with the client: `send` hands the encoded frame to a closure, and the methods that may
/// start requests take the client's own `send(warmup:)` (which calls back into `send`).
///
/// Loop-bound: used only on the owning client's loop thread; `latencies` may be read from any thread.
final class RequestPipeline {
    let control: RunControl
    let latencies = LatencyLog()
    private var encoder: RequestEncoder
    private let msgType: StaticString
    private let content: [UInt8]
    private let inflight: Int
    private var nextSeq: UInt64 = 0
    private var pending: [UInt64: Pending] = [:]
    private var running = false
    private var warmupLeft = 0
    private var onWarm: (@Sendable () -> Void)?
    /// True once any warm-up request completed (the kernel answers and, for ZeroMQ, the SUB socket is live).
    private(set) var hasAnswered = false

    private struct Pending {
        var start: UInt64
        var replied = false
        var idle = false
        var warmup = false
    }

    /// Requests of type `message` (running `code` for `execute`) in session `session` (msg_ids `<session>-<seq>`),
    /// in `wire` format; at most `inflight` outstanding once `begin` is called; counters go to `control`.
    init(session: String, wire: WireProtocol, message: LoadOptions.Message, code: String, inflight: Int,
         control: RunControl) {
        self.control = control
        self.inflight = inflight
        encoder = RequestEncoder(prefix: "\(session)-", session: session, wire: wire)
        switch message {
        case .kernelInfo:
            msgType = "kernel_info_request"
            content = RequestEncoder.kernelInfoContent
        case .execute:
            msgType = "execute_request"
            content = RequestEncoder.executeContent(code: code)
        }
    }

    /// True while any request (warm-up or measured) is outstanding.
    var hasPending: Bool { !pending.isEmpty }

    /// True between `expectWarmUp` and the call of its `done`.
    var isWarmingUp: Bool { onWarm != nil }

    /// Arranges for `count` warm-up requests to run one after another (the client sends the first) and `done` to
    /// be called after the last, or by `finishWarmUp`.
    func expectWarmUp(count: Int, done: @escaping @Sendable () -> Void) {
        warmupLeft = count
        onWarm = done
    }

    /// Calls the pending warm-up `done`, if any, exactly once (the connection is gone, or nothing to warm up).
    func finishWarmUp() {
        if let done = onWarm {
            onWarm = nil
            done()
        }
    }

    /// Starts keeping `inflight` requests outstanding, while `control` grants them, through `send`.
    func begin(send: (_ warmup: Bool) -> Void) {
        running = true
        for _ in 0..<inflight {
            guard control.reserve() else { break }
            send(false)
        }
    }

    /// Stops starting new requests when others complete (the connection is gone).
    func halt() { running = false }

    /// Forgets every outstanding request; returns how many were measured ones (the caller counts them as errors).
    @discardableResult
    func abandonPending() -> Int {
        let n = pending.values.filter { !$0.warmup }.count
        pending.removeAll()
        return n
    }

    /// Encodes the next request, passes its frame (valid only during the call; `text`: a text frame) to
    /// `transmit`, and records it as outstanding.
    func send(warmup: Bool, transmit: (_ frame: UnsafeRawBufferPointer, _ text: Bool) -> Void) {
        let seq = nextSeq
        nextSeq += 1
        let start = Monotonic.now
        encoder.encode(msgType: msgType, content: content, seq: seq, transmit)
        pending[seq] = Pending(start: start, warmup: warmup)
        control.wsSent.wrappingAdd(1, ordering: .relaxed)
    }

    /// Applies one received message to the request it answers, if it is ours. On completion: a warm-up request
    /// sends the next warm-up (or calls `done`); a measured one records its latency and, while running, starts
    /// another through `send`. `fail` receives a reply whose status is not ok.
    func process(_ message: InboundMessage, send: (_ warmup: Bool) -> Void, fail: (String) -> Void) {
        guard let seq = message.parentSequence(prefix: encoder.prefix), var request = pending[seq] else { return }
        if message.channel == .shell && message.isReply {
            request.replied = true
            if !message.contentString("status", is: "ok") { fail("reply status is not ok") }
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
            hasAnswered = true
            warmupLeft -= 1
            if warmupLeft > 0 { send(true) } else { finishWarmUp() }
        } else {
            latencies.record(at: now, latency: now &- request.start)
            control.completed.wrappingAdd(1, ordering: .relaxed)
            if running && control.reserve() { send(false) }
        }
    }
}
