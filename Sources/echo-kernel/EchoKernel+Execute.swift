import Basics
import EventLoop
import Glibc
import JupyterProtocol

// execute_request: echo the code, or run the test hooks it contains (see `ExecuteHook`).
extension EchoKernel {
    /// The request flags of one execution.
    struct ExecuteOptions {
        var silent: Bool
        var allowStdin: Bool
    }

    /// Handles an execute_request: execute_input, outputs, execute_result or error, execute_reply.
    func execute(_ message: InboundMessage, _ content: RequestContent) {
        let c = message.parts.content
        let started = UTCTimestamp.now()
        guard let code = content.code else {
            Log.message("execute_request without code: no reply (as ipykernel)")
            return
        }
        let silent = RequestContent.bool(content.silent, in: c, default: false)
        // The spec: silent forces store_history off (jupyter_client sends store_history=True regardless).
        let storeHistory = !silent && RequestContent.bool(content.storeHistory, in: c, default: true)
        let options = ExecuteOptions(
            silent: silent, allowStdin: RequestContent.bool(content.allowStdin, in: c, default: false))
        let stopOnError = RequestContent.bool(content.stopOnError, in: c, default: true)

        if aborting && message.channel == .shell {
            replyAborted(message, started: started)
            return
        }
        if storeHistory { executionCount += 1 }
        let count = executionCount
        let codeToken = UnsafeRawBufferPointer(rebasing: c[code.range])

        if !silent {
            sender.begin()
            sender.content.appendASCII("{\"code\":")
            sender.content.appendRaw(codeToken)
            sender.content.appendASCII(",\"execution_count\":")
            sender.content.appendDecimal(count)
            sender.content.append(UInt8(ascii: "}"))
            sender.publish("execute_input", parent: message.parts.header)
        }

        var failure: ExecutionFailure?
        var decoded: [UInt8] = []
        let raw = UnsafeRawBufferPointer(rebasing: c[code.contentRange])
        if code.hasEscapes {
            // Escaped code (any multi-line cell) is decoded before looking for hooks; cells without hooks
            // still echo the original token, so nothing is re-escaped.
            decoded.reserveCapacity(raw.count)
            do { try JSONScanner(c).unescape(code, into: &decoded) } catch { decoded.removeAll() }
        }
        let hasHooks = code.hasEscapes
            ? decoded.withUnsafeBytes { ExecuteHook.mayContainHooks($0) }
            : ExecuteHook.mayContainHooks(raw)

        if !hasHooks {
            if !silent {
                publishStream(token: codeToken, parent: message.parts.header)
                sender.begin()
                sender.content.appendASCII("{\"data\":{\"text/plain\":")
                sender.content.appendRaw(codeToken)
                sender.content.appendASCII("},\"metadata\":{},\"execution_count\":")
                sender.content.appendDecimal(count)
                sender.content.append(UInt8(ascii: "}"))
                sender.publish("execute_result", parent: message.parts.header)
            }
        } else {
            let text = code.hasEscapes ? String(decoding: decoded, as: UTF8.self) : String(decoding: raw, as: UTF8.self)
            failure = runHooks(text, message, options: options, executionCount: count)
        }

        if let failure {
            sender.begin()
            writeFailure(failure, into: &sender.content, closing: true)
            sender.publish("error", parent: message.parts.header)
        }

        sender.begin()
        if let failure {
            sender.content.appendASCII("{\"status\":\"error\",")
            writeFailure(failure, into: &sender.content, closing: false)
            sender.content.append(UInt8(ascii: ","))
        } else {
            sender.content.appendASCII("{\"status\":\"ok\",")
        }
        sender.content.appendASCII("\"execution_count\":")
        sender.content.appendDecimal(count)
        sender.content.appendASCII(",\"user_expressions\":{},\"payload\":[]}")
        writeReplyMetadata(started: started, status: failure == nil ? "ok" : "error")
        sender.reply("execute_reply", to: message, on: socket(for: message))

        if failure != nil && !silent && stopOnError { aborting = true }
    }

    /// ipykernel's reply to an execute_request dropped after an earlier error.
    func replyAborted(_ message: InboundMessage, started: UTCTimestamp) {
        sender.begin()
        sender.content.appendASCII("{\"status\":\"aborted\"}")
        writeReplyMetadata(started: started, status: "aborted")
        sender.reply("execute_reply", to: message, on: socket(for: message))
    }

    /// ipykernel's execute_reply metadata: started, dependencies_met, engine, status.
    func writeReplyMetadata(started: UTCTimestamp, status: StaticString) {
        sender.metadata.appendASCII("{\"started\":\"")
        started.write(into: &sender.metadata)
        sender.metadata.appendASCII("\",\"dependencies_met\":true,\"engine\":\"echo-kernel\",\"status\":\"")
        sender.metadata.appendASCII(status)
        sender.metadata.appendASCII("\"}")
    }

    /// `"ename":…,"evalue":…,"traceback":[…]`, wrapped in braces when `closing`.
    func writeFailure(_ failure: ExecutionFailure, into out: inout [UInt8], closing: Bool) {
        if closing { out.append(UInt8(ascii: "{")) }
        out.appendASCII("\"ename\":")
        out.appendQuoted(failure.ename)
        out.appendASCII(",\"evalue\":")
        out.appendQuoted(failure.evalue)
        out.appendASCII(",\"traceback\":[")
        for (i, line) in failure.traceback.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.appendQuoted(line)
        }
        out.append(UInt8(ascii: "]"))
        if closing { out.append(UInt8(ascii: "}")) }
    }

    /// Publishes a stdout stream whose text is the raw JSON string `token`.
    func publishStream(token: UnsafeRawBufferPointer, parent: UnsafeRawBufferPointer) {
        sender.begin()
        sender.content.appendASCII("{\"name\":\"stdout\",\"text\":")
        sender.content.appendRaw(token)
        sender.content.append(UInt8(ascii: "}"))
        sender.publish("stream", parent: parent)
    }

    /// Publishes a stdout stream with `text`.
    func publishStream(text: String, parent: UnsafeRawBufferPointer) {
        sender.begin()
        sender.content.appendASCII("{\"name\":\"stdout\",\"text\":")
        sender.content.appendQuoted(text)
        sender.content.append(UInt8(ascii: "}"))
        sender.publish("stream", parent: parent)
    }

    /// Runs a cell that contains hooks, line by line. Non-hook lines are echoed as stream output. The
    /// execute_result is the last hook result, else the echoed lines joined by newlines, else none.
    /// Returns the failure that ended the cell, if any. All state is local: a control message served
    /// during a wait may run another execution.
    func runHooks(_ code: String, _ message: InboundMessage, options: ExecuteOptions, executionCount: Int) -> ExecutionFailure? {
        let parent = message.parts.header
        var result: [UInt8]?  // members of the execute_result data dict
        var echoed: [String] = []
        for line in code.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let hook = ExecuteHook.parse(line: line) else {
                let text = String(line.last == "\r" ? line.dropLast() : line)
                echoed.append(text)
                if !options.silent { publishStream(text: text, parent: parent) }
                continue
            }
            switch hook {
            case .input(let prompt):
                guard options.allowStdin else {
                    return ExecutionFailure(
                        "StdinNotImplementedError", "raw_input was called, but this frontend does not support input requests.")
                }
                switch requestInput(prompt: prompt, for: message) {
                case .success(let value):
                    if !options.silent { publishStream(text: prompt + value, parent: parent) }
                    result = textResult(value)
                case .failure(let failure):
                    return failure
                }
            case .sleep(let seconds):
                guard !waiting else { return ExecutionFailure("EchoError", "%sleep cannot run inside another wait") }
                let deadline = Monotonic.now + UInt64(seconds * 1e9)
                if case .interrupted = wait(until: deadline, inputFor: nil) { return .interrupted }
            case .error(let text):
                return ExecutionFailure("EchoError", text)
            case .exit(let code):
                Log.message("%exit \(code): exiting without a reply")
                _exit(code)
            case .stream(let count, let size):
                if let failure = stream(count: count, size: size, silent: options.silent, parent: parent) { return failure }
            case .received:
                var list: [UInt8] = []
                received.writeList(into: &list)
                var members: [UInt8] = []
                members.appendASCII("\"text/plain\":")
                list.withUnsafeBytes { members.appendQuoted(utf8: $0) }
                members.appendASCII(",\"application/json\":")
                members.append(contentsOf: list)
                result = members
            case .env(let name):
                result = textResult(getenv(name).map { String(cString: $0) } ?? "")
            case .display(let text):
                guard !options.silent else { continue }
                sender.begin()
                sender.content.appendASCII("{\"data\":{\"text/plain\":")
                sender.content.appendQuoted(text)
                sender.content.appendASCII("},\"metadata\":{},\"transient\":{}}")
                sender.publish("display_data", parent: parent)
            case .invalid(let usage):
                return ExecutionFailure("EchoError", usage)
            }
        }
        if result == nil && !echoed.isEmpty { result = textResult(echoed.joined(separator: "\n")) }
        if let result, !options.silent {
            sender.begin()
            sender.content.appendASCII("{\"data\":{")
            sender.content.append(contentsOf: result)
            sender.content.appendASCII("},\"metadata\":{},\"execution_count\":")
            sender.content.appendDecimal(executionCount)
            sender.content.append(UInt8(ascii: "}"))
            sender.publish("execute_result", parent: parent)
        }
        return nil
    }

    func textResult(_ text: String) -> [UInt8] {
        var members: [UInt8] = []
        members.appendASCII("\"text/plain\":")
        members.appendQuoted(text)
        return members
    }

    /// `%stream`: `count` stdout messages of `size` text bytes, `"<seq>:"` then `x` padding. Every 256
    /// messages control and heartbeat are served, so an interrupt (either mode) stops it.
    func stream(count: Int, size: Int, silent: Bool, parent: UnsafeRawBufferPointer) -> ExecutionFailure? {
        guard !silent else { return nil }
        for seq in 0..<count {
            if seq & 255 == 255 {
                if !waiting, case .interrupted = wait(until: Monotonic.now, inputFor: nil) { return .interrupted }
            }
            if InterruptSignal.consume() { return .interrupted }
            sender.begin()
            sender.content.appendASCII("{\"name\":\"stdout\",\"text\":\"")
            let textStart = sender.content.count
            sender.content.appendDecimal(seq)
            sender.content.append(UInt8(ascii: ":"))
            let padding = size - (sender.content.count - textStart)
            if padding > 0 { sender.content.append(contentsOf: repeatElement(UInt8(ascii: "x"), count: padding)) }
            sender.content.appendASCII("\"}")
            sender.publish("stream", parent: parent)
        }
        return nil
    }
}
