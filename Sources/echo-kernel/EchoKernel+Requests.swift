import JupyterProtocol

// Replies to the requests that need no execution. Reply shapes follow ipykernel 7's kernelbase defaults.
extension EchoKernel {
    /// Routes an accepted request to its handler (between busy and idle).
    func handle(_ message: InboundMessage, _ content: RequestContent) {
        switch message.type {
        case .execute: execute(message, content)
        case .kernelInfo: replyKernelInfo(message)
        case .complete: replyComplete(message, content)
        case .inspect: replyInspect(message, content)
        case .history: replySimple("history_reply", "{\"status\":\"ok\",\"history\":[]}", to: message)
        case .isComplete: replySimple("is_complete_reply", "{\"status\":\"complete\"}", to: message)
        case .commInfo: replyCommInfo(message, content)
        case .commOpen: openComm(message, content)
        case .commMsg: echoComm(message, content)
        case .commClose: closeComm(message, content)
        case .shutdown: shutdown(message, content)
        case .interrupt: interrupt(message)
        case .debug: replyDebug(message, content)
        case .inputReply, .unknown: break
        }
    }

    func replySimple(_ type: StaticString, _ body: StaticString, to message: InboundMessage) {
        sender.begin()
        sender.content.appendASCII(body)
        sender.reply(type, to: message, on: socket(for: message))
    }

    func replyKernelInfo(_ message: InboundMessage) {
        sender.begin()
        sender.content.append(contentsOf: kernelInfoContent)
        sender.reply("kernel_info_reply", to: message, on: socket(for: message))
    }

    /// Completes hook names: when the code before the cursor is a `%` prefix of a hook name (ASCII).
    func replyComplete(_ message: InboundMessage, _ content: RequestContent) {
        let c = message.parts.content
        let cursor = RequestContent.int(content.cursorPos, in: c)
        var prefix: Substring = ""
        var completing = false
        if let code = content.code, !code.hasEscapes, let cursor, cursor <= code.contentRange.count {
            let head = UnsafeRawBufferPointer(rebasing: c[code.contentRange.lowerBound..<(code.contentRange.lowerBound + cursor)])
            if head.first == UInt8(ascii: "%"), head.allSatisfy({ $0 > 0x20 && $0 < 0x80 }) {
                prefix = Substring(String(decoding: head, as: UTF8.self))
                completing = true
            }
        }
        sender.begin()
        sender.content.appendASCII("{\"status\":\"ok\",\"matches\":[")
        if completing {
            var first = true
            for name in ExecuteHook.names where name.hasPrefix(prefix) {
                if !first { sender.content.append(UInt8(ascii: ",")) }
                first = false
                sender.content.appendQuoted(name)
            }
        }
        sender.content.appendASCII("],\"cursor_start\":")
        sender.content.appendDecimal(completing ? 0 : cursor ?? 0)
        sender.content.appendASCII(",\"cursor_end\":")
        sender.content.appendDecimal(cursor ?? 0)
        sender.content.appendASCII(",\"metadata\":{}}")
        sender.reply("complete_reply", to: message, on: socket(for: message))
    }

    /// Inspect "finds" any non-empty code and shows it back as text/plain.
    func replyInspect(_ message: InboundMessage, _ content: RequestContent) {
        let c = message.parts.content
        sender.begin()
        if let code = content.code, code.contentRange.count > 0 {
            sender.content.appendASCII("{\"status\":\"ok\",\"found\":true,\"data\":{\"text/plain\":")
            sender.content.appendRaw(UnsafeRawBufferPointer(rebasing: c[code.range]))
            sender.content.appendASCII("},\"metadata\":{}}")
        } else {
            sender.content.appendASCII("{\"status\":\"ok\",\"found\":false,\"data\":{},\"metadata\":{}}")
        }
        sender.reply("inspect_reply", to: message, on: socket(for: message))
    }

    func replyCommInfo(_ message: InboundMessage, _ content: RequestContent) {
        let scanner = JSONScanner(message.parts.content)
        let target = content.targetName.flatMap { try? scanner.decodeString($0) }
        sender.begin()
        sender.content.appendASCII("{\"status\":\"ok\",\"comms\":{")
        var first = true
        for (id, name) in comms.sorted(by: { $0.key < $1.key }) where target == nil || target == name {
            if !first { sender.content.append(UInt8(ascii: ",")) }
            first = false
            sender.content.appendQuoted(id)
            sender.content.appendASCII(":{\"target_name\":")
            sender.content.appendQuoted(name)
            sender.content.append(UInt8(ascii: "}"))
        }
        sender.content.appendASCII("}}")
        sender.reply("comm_info_reply", to: message, on: socket(for: message))
    }

    /// Every target is accepted; the comm is remembered for comm_info. No reply (per the spec).
    func openComm(_ message: InboundMessage, _ content: RequestContent) {
        let scanner = JSONScanner(message.parts.content)
        guard let idToken = content.commID, let id = try? scanner.decodeString(idToken) else {
            Log.message("comm_open without comm_id")
            return
        }
        let target = content.targetName.flatMap { try? scanner.decodeString($0) } ?? ""
        if comms.count >= 10_000, comms[id] == nil {
            Log.message("comm_open refused: too many open comms")
            return
        }
        comms[id] = target
    }

    /// Echoes `data` and any binary buffers back on iopub as a comm_msg with the same comm_id. No shell
    /// reply (per the spec).
    func echoComm(_ message: InboundMessage, _ content: RequestContent) {
        let c = message.parts.content
        guard let id = content.commID else {
            Log.message("comm_msg without comm_id")
            return
        }
        sender.begin()
        sender.content.appendASCII("{\"comm_id\":")
        sender.content.appendRaw(UnsafeRawBufferPointer(rebasing: c[id.range]))
        sender.content.appendASCII(",\"data\":")
        if let data = content.data {
            sender.content.appendRaw(UnsafeRawBufferPointer(rebasing: c[data]))
        } else {
            sender.content.appendASCII("{}")
        }
        sender.content.append(UInt8(ascii: "}"))
        for i in message.layout.buffers { sender.buffers.append(message.frames.frame(i)) }
        sender.publish("comm_msg", parent: message.parts.header)
    }

    func closeComm(_ message: InboundMessage, _ content: RequestContent) {
        let scanner = JSONScanner(message.parts.content)
        guard let idToken = content.commID, let id = try? scanner.decodeString(idToken) else { return }
        comms[id] = nil
    }

    /// Replies, broadcasts the reply on iopub (as ipykernel does at exit), and exits after `idle`.
    func shutdown(_ message: InboundMessage, _ content: RequestContent) {
        let restart = RequestContent.bool(content.restart, in: message.parts.content, default: false)
        for broadcast in [false, true] {
            sender.begin()
            sender.content.appendASCII("{\"status\":\"ok\",\"restart\":")
            sender.content.appendBool(restart)
            sender.content.append(UInt8(ascii: "}"))
            if broadcast {
                sender.publish("shutdown_reply", parent: message.parts.header)
            } else {
                sender.reply("shutdown_reply", to: message, on: socket(for: message))
            }
        }
        exitRequested = true
    }

    /// Flags the interrupt; a running `%sleep` / `%input` / `%stream` sees it at its next check.
    func interrupt(_ message: InboundMessage) {
        InterruptSignal.request()
        replySimple("interrupt_reply", "{\"status\":\"ok\"}", to: message)
    }

    /// There is no debugger: answer with an unsuccessful DAP response so the client is not left waiting.
    func replyDebug(_ message: InboundMessage, _ content: RequestContent) {
        let c = message.parts.content
        sender.begin()
        sender.content.appendASCII("{\"type\":\"response\",\"seq\":0,\"request_seq\":")
        if let seq = RequestContent.int(content.seq, in: c) { sender.content.appendDecimal(seq) } else { sender.content.appendASCII("0") }
        sender.content.appendASCII(",\"success\":false,\"command\":")
        if let command = content.command {
            sender.content.appendRaw(UnsafeRawBufferPointer(rebasing: c[command.range]))
        } else {
            sender.content.appendASCII("\"\"")
        }
        sender.content.appendASCII(",\"message\":\"echo-kernel has no debugger\",\"body\":{}}")
        sender.reply("debug_reply", to: message, on: socket(for: message))
    }
}
