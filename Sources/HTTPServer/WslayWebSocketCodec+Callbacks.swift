import CWslay

/// The C callbacks wslay invokes during `wslay_event_recv` / `wslay_event_send`.
///
/// Audit of the unsafe parts: wslay's `user_data` is an unretained pointer to the owning
/// `WslayWebSocketCodec`, given once at context creation. wslay calls back only synchronously
/// inside `wslay_event_recv`/`wslay_event_send`, which only the codec's own methods call while it
/// is alive, and the context is freed in `deinit`; so `takeUnretainedValue()` below never sees a
/// dangling pointer. Pointers handed to callbacks are valid only during the callback and are
/// copied before returning. The recv callback reads from `input`, which `receive` sets to the
/// caller's chunk and resets before returning.
extension WslayWebSocketCodec {
    static func makeCallbacks() -> wslay_event_callbacks {
        var callbacks = wslay_event_callbacks()
        callbacks.recv_callback = { context, buffer, length, _, userData in
            guard let codec = WslayWebSocketCodec.owner(userData), let buffer else {
                wslay_event_set_error(context, WSLAY_ERR_CALLBACK_FAILURE.rawValue)
                return -1
            }
            let available = codec.input.count - codec.inputOffset
            guard available > 0, let base = codec.input.baseAddress else {
                // Not an error: it tells wslay_event_recv to stop and return.
                wslay_event_set_error(context, WSLAY_ERR_WOULDBLOCK.rawValue)
                return -1
            }
            let count = min(available, length)
            UnsafeMutableRawPointer(buffer).copyMemory(from: base + codec.inputOffset, byteCount: count)
            codec.inputOffset += count
            return count
        }
        callbacks.send_callback = { context, data, length, _, userData in
            guard let codec = WslayWebSocketCodec.owner(userData), let data else {
                wslay_event_set_error(context, WSLAY_ERR_CALLBACK_FAILURE.rawValue)
                return -1
            }
            codec.output.append(UnsafeRawBufferPointer(start: data, count: length))
            return length
        }
        callbacks.on_frame_recv_start_callback = { _, arg, userData in
            guard let codec = WslayWebSocketCodec.owner(userData), let arg else { return }
            codec.frameStarted(opcode: arg.pointee.opcode, fin: arg.pointee.fin != 0)
        }
        callbacks.on_frame_recv_chunk_callback = { _, arg, userData in
            guard let codec = WslayWebSocketCodec.owner(userData), let arg else { return }
            codec.frameChunk(UnsafeRawBufferPointer(start: arg.pointee.data, count: arg.pointee.data_length))
        }
        callbacks.on_frame_recv_end_callback = { _, userData in
            WslayWebSocketCodec.owner(userData)?.frameEnded()
        }
        callbacks.on_msg_recv_callback = { _, arg, userData in
            guard let codec = WslayWebSocketCodec.owner(userData), let arg else { return }
            let payload = UnsafeRawBufferPointer(start: arg.pointee.msg, count: arg.pointee.msg_length)
            codec.messageReceived(opcode: arg.pointee.opcode, payload: payload, statusCode: arg.pointee.status_code)
        }
        return callbacks
    }

    private static func owner(_ userData: UnsafeMutableRawPointer?) -> WslayWebSocketCodec? {
        guard let userData else { return nil }
        return Unmanaged<WslayWebSocketCodec>.fromOpaque(userData).takeUnretainedValue()
    }

    func frameStarted(opcode: UInt8, fin: Bool) {
        frameOpcode = opcode
        frameFin = fin
        switch UInt32(opcode) {
        case WSLAY_TEXT_FRAME.rawValue:
            messageIsText = true
            textValidator.reset()
        case WSLAY_BINARY_FRAME.rawValue:
            messageIsText = false
        case WSLAY_CONTINUATION_FRAME.rawValue:
            break
        default:
            // A control frame may sit between fragments; the data message state stays untouched.
            controlPayload.removeAll(keepingCapacity: true)
        }
    }

    func frameChunk(_ chunk: UnsafeRawBufferPointer) {
        guard failure == nil else { return }
        if frameOpcode & 0x8 != 0 {
            // Control payloads are at most 125 bytes (wslay enforces it).
            if UInt32(frameOpcode) == WSLAY_CONNECTION_CLOSE.rawValue { controlPayload.append(contentsOf: chunk) }
        } else if messageIsText && !textValidator.feed(chunk) {
            fail(.invalidPayloadData)
        }
    }

    func frameEnded() {
        guard failure == nil else { return }
        if UInt32(frameOpcode) == WSLAY_CONNECTION_CLOSE.rawValue {
            // Must run before wslay echoes the close (it does so right after this callback).
            if controlPayload.count == 1 {
                fail(.protocolError)
            } else if controlPayload.count > 2 && !UTF8Validator.isValid(controlPayload[2...]) {
                fail(.invalidPayloadData)
            }
        } else if frameOpcode & 0x8 == 0 && frameFin && messageIsText && !textValidator.isComplete {
            fail(.invalidPayloadData)
        }
    }

    func messageReceived(opcode: UInt8, payload: UnsafeRawBufferPointer, statusCode: UInt16) {
        guard failure == nil else { return }
        switch UInt32(opcode) {
        case WSLAY_TEXT_FRAME.rawValue:
            events.append(.message(WebSocketMessage(kind: .text, payload: Array(payload))))
        case WSLAY_BINARY_FRAME.rawValue:
            events.append(.message(WebSocketMessage(kind: .binary, payload: Array(payload))))
        case WSLAY_PING.rawValue:
            events.append(.ping(Array(payload)))
        case WSLAY_PONG.rawValue:
            events.append(.pong(Array(payload)))
        case WSLAY_CONNECTION_CLOSE.rawValue:
            closeReported = true
            let reason = payload.count > 2 ? String(decoding: payload[2...], as: UTF8.self) : ""
            events.append(.closeReceived(code: statusCode == 0 ? nil : WebSocketCloseCode(rawValue: statusCode), reason: reason))
        default:
            break
        }
    }
}
