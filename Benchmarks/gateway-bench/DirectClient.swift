import EventLoop
import ZeroMQ
import JupyterProtocol

/// One direct client of a kernel, no gateway: a DEALER on shell and a SUB on iopub, on one event loop, keeping
/// `inflight` signed requests outstanding through the same `RequestPipeline` as `RequestClient` (reply + iopub idle).
/// It verifies every received signature, as the gateway does, so the comparison is like for like.
///
/// Loop-bound: `start` and everything after run on `loop`'s thread.
final class DirectClient: RequestLoadClient, @unchecked Sendable {
    // @unchecked Sendable, audited: the ZeroMQ sockets and all mutable state are used only on `loop`'s thread
    // (`start`, the descriptor handlers, closures passed to `loop.execute`); results go through `control`
    // (atomics) and `latencies` (mutex).
    let index: Int
    let loop: EventLoop
    let control: RunControl
    /// Kept so the context outlives the sockets (`zmq_ctx_term` blocks while a socket is open); `stop` closes them.
    private let context: ZMQContext
    private let shell: ZMQSocket
    private let iopub: ZMQSocket
    private let signer: HMACSigner
    private let pipeline: RequestPipeline
    private var frames: [[UInt8]] = []
    private var joined: [UInt8] = []
    private(set) var lastError: String?

    init(index: Int, loop: EventLoop, context: ZMQContext, shellEndpoint: String, iopubEndpoint: String, key: [UInt8],
         message: LoadOptions.Message, code: String, inflight: Int, control: RunControl, sessionPrefix: String) throws {
        self.index = index
        self.loop = loop
        self.control = control
        self.context = context
        shell = try ZMQSocket(context: context, type: .dealer)
        iopub = try ZMQSocket(context: context, type: .sub)
        try iopub.subscribeAll()
        try shell.connect(shellEndpoint)
        try iopub.connect(iopubEndpoint)
        signer = try HMACSigner(key: key)
        pipeline = RequestPipeline(session: "\(sessionPrefix)-\(index)", wire: .v1, message: message, code: code,
                                   inflight: inflight, control: control)
    }

    /// Completion times and latencies of the measured requests (any thread).
    var latencies: LatencyLog { pipeline.latencies }

    /// True once a warm-up request completed (the SUB subscription is live). Loop thread.
    var ready: Bool { pipeline.hasAnswered }

    /// Registers the sockets with the loop. Loop thread.
    func start() throws {
        try loop.register(fd: shell.fileDescriptor, events: EventLoop.readable) { [self] _ in drain() }
        try loop.register(fd: iopub.fileDescriptor, events: EventLoop.readable) { [self] _ in drain() }
    }

    /// True while any request is outstanding. Loop thread.
    var hasPending: Bool { pipeline.hasPending }

    /// Sends requests until one completes (the SUB subscription is live), then `count` sequential warm-up
    /// requests in all; calls `done` after. Loop thread.
    func warmUp(count: Int, done: @escaping @Sendable () -> Void) {
        pipeline.expectWarmUp(count: count, done: done)
        send(warmup: true)
        armProbe()
    }

    /// Until the subscription is live, iopub messages are lost (slow joiner): resend every 100 ms while waiting.
    private func armProbe() {
        loop.scheduleTimer(after: .milliseconds(100)) { [self] in
            guard !pipeline.hasAnswered, pipeline.isWarmingUp else { return }
            pipeline.abandonPending()
            send(warmup: true)
            armProbe()
        }
    }

    /// Starts keeping `inflight` requests outstanding until `control` says stop. Loop thread.
    func begin() { pipeline.begin(send: send(warmup:)) }

    /// Abandons outstanding requests; returns how many measured ones there were. Loop thread.
    func abandonPending() -> Int { pipeline.abandonPending() }

    /// Closes the sockets (after deregistering them). Loop thread.
    func stop() {
        loop.deregister(fd: shell.fileDescriptor)
        loop.deregister(fd: iopub.fileDescriptor)
        shell.close()
        iopub.close()
    }

    private func fail(_ reason: String) {
        lastError = reason
        control.errors.wrappingAdd(1, ordering: .relaxed)
    }

    private func send(warmup: Bool) {
        pipeline.send(warmup: warmup) { frame, _ in
            // The v1 frame holds exactly the parts we need: reuse its layout instead of a second encoder.
            guard let layout = try? V1WebSocketCodec.decode(frame, validateParts: false) else { return }
            let parts = layout.parts(in: frame)
            do {
                let signature = try signer.sign(parts)
                try ZMQFrames.forEachFrame(identities: EmptyCollection(), signature: signature, parts: parts) { bytes, more in
                    _ = try shell.send(bytes, more: more)
                }
            } catch {
                fail("send: \(error)")
            }
        }
        // A send can consume the descriptor's edge: look for input now.
        drain()
    }

    private var draining = false

    private func drain() {
        guard !draining else { return }
        draining = true
        defer { draining = false }
        var progress = true
        while progress {
            progress = false
            while shell.hasInput, (try? shell.receive(into: &frames)) == true {
                progress = true
                handle(channel: .shell)
            }
            while iopub.hasInput, (try? iopub.receive(into: &frames)) == true {
                progress = true
                handle(channel: .iopub)
            }
        }
    }

    private func handle(channel: Channel) {
        control.wsReceived.wrappingAdd(1, ordering: .relaxed)
        guard let layout = try? ZMQFrameLayout.parse(frames) else {
            fail("malformed frames")
            return
        }
        // Join header, parent and content into one buffer so the WebSocket-side parser can be reused.
        joined.removeAll(keepingCapacity: true)
        let h = frames[layout.header], p = frames[layout.parentHeader], m = frames[layout.metadata], c = frames[layout.content]
        let signatureOK = frames[layout.signature].withUnsafeBytes { sig in
            h.withUnsafeBytes { hb in p.withUnsafeBytes { pb in m.withUnsafeBytes { mb in c.withUnsafeBytes { cb in
                signer.verify(sig, header: hb, parentHeader: pb, metadata: mb, content: cb)
            } } } }
        }
        guard signatureOK else {
            fail("bad signature")
            return
        }
        joined.append(contentsOf: h)
        joined.append(contentsOf: p)
        joined.append(contentsOf: c)
        let header = 0..<h.count, parent = h.count..<(h.count + p.count), body = (h.count + p.count)..<joined.count
        joined.withUnsafeBytes { raw in
            guard let fields = try? HeaderFields.scan(raw, range: header), let type = fields.msgType else { return }
            let parentID = parent.count > 2 ? (try? HeaderFields.scan(raw, range: parent))?.msgID?.contentRange : nil
            let message = InboundMessage(frame: raw, channel: channel, msgType: type.contentRange, parentID: parentID, content: body)
            pipeline.process(message, send: send(warmup:), fail: fail)
        }
    }
}
