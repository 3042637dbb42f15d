import CZeroMQ
import EventLoop
import Glibc
import JupyterProtocol

/// The echo kernel: five sockets, one thread, one `zmq_poll` loop.
///
/// Shell requests are handled one at a time, in order. Control and heartbeat are also served while a shell
/// request waits (`%sleep`, `%input`, see `EchoKernel+Waiting.swift`), which is how interrupts and
/// shutdowns reach a busy kernel. Every accepted request on shell or control is bracketed on iopub by
/// `status: busy` and `status: idle` with the request as parent, as ipykernel does.
final class EchoKernel {
    static let implementationVersion = "1.0.0"

    let context: UnsafeMutableRawPointer
    let shell: KernelSocket
    let control: KernelSocket
    let stdin: KernelSocket
    let iopub: KernelSocket
    let heartbeat: KernelSocket
    let signer: HMACSigner
    let sender: MessageSender
    /// Read end of the SIGINT self-pipe.
    let interruptFD: Int32

    let shellIn = FrameBuffer(initialCapacity: 64 << 10)
    let controlIn = FrameBuffer()
    let stdinIn = FrameBuffer()
    let iopubIn = FrameBuffer(initialCapacity: 1024)
    let heartbeatIn = FrameBuffer(initialCapacity: 1024)

    /// Execution counter (incremented by executions with `store_history`).
    var executionCount = 0
    /// Set after a failed execution with `stop_on_error`: execute requests already queued on shell are
    /// answered `aborted` until the shell queue is seen empty (ipykernel's abort-queue behaviour).
    var aborting = false
    /// True inside a nested wait; blocking hooks refuse to nest.
    var waiting = false
    /// A shutdown was handled: exit after the request's `idle`.
    var exitRequested = false
    /// Open comms: comm_id to target_name.
    var comms: [String: String] = [:]
    var received = ReceivedLog()
    /// Messages rejected for bad signatures or malformed frames.
    var rejectedCount = 0
    let kernelInfoContent: [UInt8]

    /// Creates the sockets and binds them on the connection file's endpoints. Throws on any failure.
    init(connection: ConnectionFile, interruptFD: Int32) throws(EchoKernelError) {
        guard let ctx = zmq_ctx_new() else { throw EchoKernelError("zmq_ctx_new failed") }
        context = ctx
        shell = try KernelSocket(context: ctx, type: ZMQ_ROUTER, channel: .shell)
        control = try KernelSocket(context: ctx, type: ZMQ_ROUTER, channel: .control)
        stdin = try KernelSocket(context: ctx, type: ZMQ_ROUTER, channel: .stdin)
        iopub = try KernelSocket(context: ctx, type: ZMQ_XPUB, channel: .iopub)
        heartbeat = try KernelSocket(context: ctx, type: ZMQ_REP, channel: .hb)
        // Only input_request goes out on stdin: fail loudly instead of waiting forever for a reply from a
        // client whose stdin socket is not connected.
        stdin.setOption(ZMQ_ROUTER_MANDATORY, 1)
        // A reconnecting client (same identity) takes over its routing slot instead of being refused.
        shell.setOption(ZMQ_ROUTER_HANDOVER, 1)
        control.setOption(ZMQ_ROUTER_HANDOVER, 1)
        stdin.setOption(ZMQ_ROUTER_HANDOVER, 1)
        // Every new subscription (also a repeated one, e.g. a reconnecting gateway) gets iopub_welcome.
        iopub.setOption(ZMQ_XPUB_VERBOSE, 1)
        iopub.setOption(ZMQ_SNDHWM, EchoKernel.iopubHighWaterMark())
        try shell.bind(connection.endpoint(connection.shellPort))
        try control.bind(connection.endpoint(connection.controlPort))
        try stdin.bind(connection.endpoint(connection.stdinPort))
        try iopub.bind(connection.endpoint(connection.iopubPort))
        try heartbeat.bind(connection.endpoint(connection.hbPort))
        do {
            signer = try HMACSigner(key: connection.key)
        } catch {
            throw EchoKernelError("cannot create the HMAC signer: \(error)")
        }
        let username = getenv("USER").map { String(cString: $0) } ?? "username"
        sender = MessageSender(signer: signer, session: MessageID.random(), username: username, iopub: iopub)
        self.interruptFD = interruptFD
        kernelInfoContent = EchoKernel.makeKernelInfo()
    }

    /// Serves requests until a shutdown request; never returns.
    func run() -> Never {
        sender.begin()
        sender.content.appendASCII("{\"execution_state\":\"starting\"}")
        sender.publish("status", parent: MessageParts.emptyObject)

        let shellIndex = 0, controlIndex = 1, stdinIndex = 2, iopubIndex = 3, hbIndex = 4, pipeIndex = 5
        var items = [
            pollItem(shell), pollItem(control), pollItem(stdin), pollItem(iopub), pollItem(heartbeat),
            zmq_pollitem_t(socket: nil, fd: interruptFD, events: Int16(ZMQ_POLLIN), revents: 0),
        ]
        while true {
            for i in items.indices { items[i].revents = 0 }
            // While aborting, look without blocking: "queued" means already here, not whatever comes next.
            if zmq_poll(&items, Int32(items.count), aborting ? 0 : -1) < 0 {
                if zmq_errno() == EINTR { continue }
                Log.message("zmq_poll failed: \(KernelSocket.lastError())")
                terminate(code: 1)
            }
            if readable(items[controlIndex]) { serveControl() }
            if readable(items[hbIndex]) { heartbeat.echoAll(using: heartbeatIn) }
            if readable(items[iopubIndex]) { serveSubscriptions() }
            if readable(items[pipeIndex]) { InterruptSignal.drain(interruptFD) }
            // Nothing is executing: an interrupt that arrived by now has nothing to stop (ipykernel ignores
            // a KeyboardInterrupt between requests too).
            _ = InterruptSignal.consume()
            if readable(items[stdinIndex]) { serveStaleStdin() }
            if readable(items[shellIndex]) {
                // One shell message per poll, so control stays ahead of a flood of shell traffic.
                if shell.receive(into: shellIn) { dispatch(shellIn, from: shell) } else { aborting = false }
            } else {
                aborting = false
            }
        }
    }

    @inline(__always)
    func pollItem(_ socket: KernelSocket) -> zmq_pollitem_t {
        zmq_pollitem_t(socket: socket.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
    }

    @inline(__always)
    func readable(_ item: zmq_pollitem_t) -> Bool { item.revents & Int16(ZMQ_POLLIN) != 0 }

    /// Handles every message waiting on control.
    func serveControl() {
        while control.receive(into: controlIn) { dispatch(controlIn, from: control) }
    }

    /// Reads XPUB subscription events and answers each new subscription with `iopub_welcome`.
    func serveSubscriptions() {
        while iopub.receive(into: iopubIn) {
            for i in 0..<iopubIn.frameCount {
                let frame = iopubIn.frame(i)
                guard frame.count >= 1, frame[0] == 1 else { continue }
                sender.publishWelcome(subscription: UnsafeRawBufferPointer(rebasing: frame[1...]))
            }
        }
    }

    /// stdin traffic while no input is pending: recorded, then ignored (as ipykernel purges stale replies).
    func serveStaleStdin() {
        while stdin.receive(into: stdinIn) {
            guard let message = accept(stdinIn, from: stdin) else { continue }
            Log.message("ignoring \(message.typeName) on stdin: no input request is pending")
        }
    }

    /// Verifies and records a received message; nil (logged) when it is rejected.
    func accept(_ buffer: FrameBuffer, from socket: KernelSocket) -> InboundMessage? {
        do {
            let message = try InboundMessage(channel: socket.channel, frames: buffer, signer: signer)
            received.record(channel: message.channel, msgType: message.msgTypeToken, username: message.usernameToken)
            return message
        } catch {
            rejectedCount += 1
            Log.message("dropping a message on \(socket.channel): \(error)")
            return nil
        }
    }

    /// Handles one shell or control message: busy, the handler, idle.
    func dispatch(_ buffer: FrameBuffer, from socket: KernelSocket) {
        guard let message = accept(buffer, from: socket) else { return }
        let content: RequestContent
        do {
            content = try RequestContent(scanning: message.parts.content)
        } catch {
            Log.message("dropping \(message.typeName) on \(socket.channel): invalid content: \(error)")
            return
        }
        publishStatus("busy", parent: message.parts.header)
        if !message.type.isAccepted(on: message.channel) || message.type == .unknown {
            Log.message("ignoring unknown message type \(message.typeName) on \(message.channel)")
        } else {
            handle(message, content)
        }
        publishStatus("idle", parent: message.parts.header)
        if exitRequested { terminate(code: 0) }
    }

    /// Publishes `status` with `execution_state` (`busy`, `idle`, `starting`).
    func publishStatus(_ state: StaticString, parent: UnsafeRawBufferPointer) {
        sender.begin()
        sender.content.appendASCII("{\"execution_state\":\"")
        sender.content.appendASCII(state)
        sender.content.appendASCII("\"}")
        sender.publish("status", parent: parent)
    }

    /// The socket a reply to `message` goes out on.
    func socket(for message: InboundMessage) -> KernelSocket {
        switch message.channel {
        case .control: return control
        case .stdin: return stdin
        default: return shell
        }
    }

    /// Closes every socket (letting queued replies drain for up to 2 s) and exits with `code`.
    func terminate(code: Int32) -> Never {
        for socket in [shell, control, stdin, iopub, heartbeat] { socket.close(lingerMilliseconds: 2000) }
        zmq_ctx_term(context)
        exit(code)
    }

    /// Per-subscriber iopub queue in messages: `ECHO_KERNEL_IOPUB_HWM` (0 = unbounded), default 100 000, so
    /// a subscriber that keeps reading does not lose a burst (ipykernel uses libzmq's default of 1000).
    static func iopubHighWaterMark() -> Int32 {
        guard let raw = getenv("ECHO_KERNEL_IOPUB_HWM"), let value = Int32(String(cString: raw)), value >= 0 else {
            return 100_000
        }
        return value
    }

    static func makeKernelInfo() -> [UInt8] {
        var out: [UInt8] = []
        out.appendASCII("{\"status\":\"ok\",\"protocol_version\":\"5.3\",\"implementation\":\"echo-kernel\",")
        out.appendASCII("\"implementation_version\":")
        out.appendQuoted(implementationVersion)
        out.appendASCII(",\"language_info\":{\"name\":\"echo\",\"version\":")
        out.appendQuoted(implementationVersion)
        out.appendASCII(",\"mimetype\":\"text/plain\",\"file_extension\":\".txt\"},\"banner\":")
        out.appendQuoted("echo-kernel \(implementationVersion): echoes code back; test hooks in docs/echo-kernel.md")
        out.appendASCII(",\"help_links\":[],\"supported_features\":[]}")
        return out
    }
}
