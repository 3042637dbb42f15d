import CZeroMQ
import EventLoop
import Glibc
import JupyterProtocol

// Nested waits for `%sleep` and `%input`: control, heartbeat and iopub subscriptions keep being served
// (so interrupt_request and shutdown_request work on a busy kernel); shell waits its turn.
extension EchoKernel {
    enum WaitOutcome {
        case elapsed
        case interrupted
        /// The decoded `value` of an input_reply.
        case input(String)
    }

    /// Serves control/hb/iopub (and stdin when `request` is given) until `deadline` (monotonic ns; nil =
    /// none), an interrupt, or an input_reply on stdin. Polls at least once, so `deadline: now` is a
    /// non-blocking check.
    func wait(until deadline: UInt64?, inputFor request: InboundMessage?) -> WaitOutcome {
        waiting = true
        defer { waiting = false }
        var items = [
            pollItem(control), pollItem(heartbeat), pollItem(iopub),
            zmq_pollitem_t(socket: nil, fd: interruptFD, events: Int16(ZMQ_POLLIN), revents: 0),
            pollItem(stdin),
        ]
        let count = Int32(request == nil ? 4 : 5)
        while true {
            var timeout = -1
            if let deadline {
                let now = Monotonic.now
                timeout = now >= deadline ? 0 : Int((deadline - now + 999_999) / 1_000_000)
            }
            for i in items.indices { items[i].revents = 0 }
            if zmq_poll(&items, count, timeout) < 0 && zmq_errno() != EINTR {
                Log.message("zmq_poll failed: \(KernelSocket.lastError())")
                terminate(code: 1)
            }
            if readable(items[0]) { serveControl() }
            if readable(items[1]) { heartbeat.echoAll(using: heartbeatIn) }
            if readable(items[2]) { serveSubscriptions() }
            if readable(items[3]) { InterruptSignal.drain(interruptFD) }
            if InterruptSignal.consume() { return .interrupted }
            if request != nil, readable(items[4]), let value = receiveInputReply() { return .input(value) }
            if let deadline, Monotonic.now >= deadline { return .elapsed }
        }
    }

    /// Reads stdin; returns the value of the first input_reply (other messages are logged and dropped).
    func receiveInputReply() -> String? {
        while stdin.receive(into: stdinIn) {
            guard let message = accept(stdinIn, from: stdin) else { continue }
            guard message.type == .inputReply else {
                Log.message("ignoring \(message.typeName) on stdin while waiting for input_reply")
                continue
            }
            let content = message.parts.content
            guard let parsed = try? RequestContent(scanning: content), let token = parsed.value,
                  let value = try? JSONScanner(content).decodeString(token)
            else {
                Log.message("input_reply without a string value: using \"\"")
                return ""
            }
            return value
        }
        return nil
    }

    /// Sends input_request on stdin to the shell requester's identity and waits for the reply, serving
    /// control meanwhile. Fails with StdinNotImplementedError when that client has no stdin connection,
    /// KeyboardInterrupt when interrupted.
    func requestInput(prompt: String, for request: InboundMessage) -> Result<String, ExecutionFailure> {
        guard !waiting, request.channel == .shell else {
            return .failure(ExecutionFailure("EchoError", "%input only works in a shell execute_request that is not nested"))
        }
        // Purge stale replies first, as ipykernel does.
        while stdin.receive(into: stdinIn) { _ = accept(stdinIn, from: stdin) }
        sender.begin()
        sender.content.appendASCII("{\"prompt\":")
        sender.content.appendQuoted(prompt)
        sender.content.appendASCII(",\"password\":false}")
        if let failure = sender.reply("input_request", to: request, on: stdin) {
            if case .unreachable = failure {
                return .failure(ExecutionFailure(
                    "StdinNotImplementedError", "input was requested, but the client has no stdin connection."))
            }
            return .failure(ExecutionFailure("EchoError", "cannot send input_request: \(failure)"))
        }
        switch wait(until: nil, inputFor: request) {
        case .input(let value): return .success(value)
        case .interrupted: return .failure(ExecutionFailure("KeyboardInterrupt", "Interrupted by user"))
        case .elapsed: return .failure(ExecutionFailure("EchoError", "input wait ended without a reply"))
        }
    }
}
