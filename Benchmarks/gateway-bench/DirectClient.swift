import EventLoop
import JupyterProtocol

/// One direct client of a kernel, no gateway: a DEALER on shell and a SUB on iopub, on one event loop, keeping
/// `inflight` signed requests outstanding with the same completion rule as `RequestClient` (reply + iopub idle).
/// It verifies every received signature, as the gateway does, so the comparison is like for like.
///
/// Loop-bound: `start` and everything after run on `loop`'s thread.
final class DirectClient: @unchecked Sendable {
    // @unchecked Sendable, audited: the ZeroMQ sockets and all mutable state are used only on `loop`'s thread
    // (`start`, the descriptor handlers, closures passed to `loop.execute`); results go through `control`
    // (atomics) and `latencies` (mutex).
    let index: Int
    let loop: EventLoop
    let control: RunControl
    let latencies = LatencyLog()
    /// Kept so the context outlives the sockets (`zmq_ctx_term` blocks while a socket is open); `stop` closes them.
    private let context: ZMQContext
    private let shell: ZMQSocket
    private let iopub: ZMQSocket
    private let signer: HMACSigner
    private var encoder: RequestEncoder
    private let msgType: StaticString
    private let content: [UInt8]
    private let inflight: Int
    private var nextSeq: UInt64 = 0
    private var pending: [UInt64: (start: UInt64, replied: Bool, idle: Bool, warmup: Bool)] = [:]
    private var frames: [[UInt8]] = []
    private var joined: [UInt8] = []
    private var running = false
    private var onWarm: (@Sendable () -> Void)?
    private(set) var lastError: String?
    private(set) var ready = false

    init(index: Int, loop: EventLoop, context: ZMQContext, shellEndpoint: String, iopubEndpoint: String, key: [UInt8],
         message: LoadOptions.Message, code: String, inflight: Int, control: RunControl, sessionPrefix: String) throws {
        self.index = index
        self.loop = loop
        self.control = control
        self.inflight = inflight
        self.context = context
        shell = try ZMQSocket(context: context, type: .dealer)
        iopub = try ZMQSocket(context: context, type: .sub)
        try iopub.subscribeAll()
        try shell.connect(shellEndpoint)
        try iopub.connect(iopubEndpoint)
        signer = try HMACSigner(key: key)
        let session = "\(sessionPrefix)-\(index)"
        encoder = RequestEncoder(prefix: "\(session)-", session: session, wire: .v1)
        switch message {
        case .kernelInfo:
            msgType = "kernel_info_request"
            content = RequestEncoder.kernelInfoContent
        case .execute:
            msgType = "execute_request"
            content = RequestEncoder.executeContent(code: code)
        }
    }

    /// Registers the sockets with the loop. Loop thread.
    func start() throws {
        try loop.register(fd: shell.fileDescriptor, events: EventLoop.readable) { [self] _ in drain() }
        try loop.register(fd: iopub.fileDescriptor, events: EventLoop.readable) { [self] _ in drain() }
    }

    var hasPending: Bool { !pending.isEmpty }

    /// Sends kernel_info until one completes (the SUB subscription is live), then `count` sequential warm-up
    /// requests; calls `done` after. Loop thread.
    func warmUp(count: Int, done: @escaping @Sendable () -> Void) {
        onWarm = done
        warmupLeft = count
        send(warmup: true)
        armProbe()
    }

    private var warmupLeft = 0

    /// Until the subscription is live, iopub messages are lost (slow joiner): resend every 100 ms while waiting.
    private func armProbe() {
        loop.scheduleTimer(after: .milliseconds(100)) { [self] in
            guard !ready, onWarm != nil else { return }
            pending.removeAll()
            send(warmup: true)
            armProbe()
        }
    }

    func begin() {
        running = true
        for _ in 0..<inflight {
            guard control.reserve() else { break }
            send(warmup: false)
        }
    }

    func abandonPending() -> Int {
        let n = pending.values.filter { !$0.warmup }.count
        pending.removeAll()
        return n
    }

    /// Closes the sockets (after deregistering them). Loop thread.
    func stop() {
        loop.deregister(fd: shell.fileDescriptor)
        loop.deregister(fd: iopub.fileDescriptor)
        shell.close()
        iopub.close()
    }

    private func send(warmup: Bool) {
        let seq = nextSeq
        nextSeq += 1
        let start = Monotonic.now
        encoder.encode(msgType: msgType, content: content, seq: seq) { frame, _ in
            // The v1 frame holds exactly the parts we need: reuse its layout instead of a second encoder.
            guard let layout = try? V1WebSocketCodec.decode(frame, validateParts: false) else { return }
            let parts = layout.parts(in: frame)
            do {
                let signature = try signer.sign(parts)
                try ZMQFrames.forEachFrame(identities: EmptyCollection(), signature: signature, parts: parts) { bytes, more in
                    _ = try shell.send(bytes, more: more)
                }
            } catch {
                lastError = "send: \(error)"
                control.errors.wrappingAdd(1, ordering: .relaxed)
            }
        }
        pending[seq] = (start, false, false, warmup)
        control.wsSent.wrappingAdd(1, ordering: .relaxed)
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
            lastError = "malformed frames"
            control.errors.wrappingAdd(1, ordering: .relaxed)
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
            lastError = "bad signature"
            control.errors.wrappingAdd(1, ordering: .relaxed)
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
            process(message)
        }
    }

    private func process(_ message: InboundMessage) {
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
            ready = true
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
    }
}
