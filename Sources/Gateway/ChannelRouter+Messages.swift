import JupyterProtocol

extension ChannelRouter {
    /// What the router needs to know about a decoded client message: read from its header by `read`, never
    /// from fields the router trusts for routing (`header.session`, `header.username` are not looked at).
    package struct ClientMessage {
        /// The channel the message came on.
        package var channel: Channel
        /// `header.msg_type`, unescaped. Borrowed: valid only during the call it is passed to.
        package var msgType: UnsafeRawBufferPointer
        /// The name was written with JSON escapes (then it never counts as a request: see `expectsReply`).
        package var msgTypeHasEscapes: Bool
        /// `header.msg_id`, or nil when it is not a decodable string.
        package var msgID: String?
        /// The size of the whole WebSocket message, in bytes.
        package var byteCount: Int

        package init(channel: Channel, msgType: UnsafeRawBufferPointer, msgTypeHasEscapes: Bool = false,
                     msgID: String?, byteCount: Int = 0) {
            self.channel = channel
            self.msgType = msgType
            self.msgTypeHasEscapes = msgTypeHasEscapes
            self.msgID = msgID
            self.byteCount = byteCount
        }

        /// The type ends in `_request` as written, so the kernel owes a reply: such messages are recorded as
        /// pending and bounded per session. An escaped name never counts (as in the scanner's suffix check).
        package var expectsReply: Bool {
            !msgTypeHasEscapes && msgType.hasSuffix("_request")
        }

        /// `msg_type` as a string (for error texts and the audit log).
        package var msgTypeName: String { String(decoding: msgType, as: UTF8.self) }

        /// Reads the message facts from a decoded frame and calls `body` with them. Returns nil (without calling
        /// `body`) when `header.msg_type` or `header.msg_id` is absent. No allocation but the `msg_id` string
        /// (and the name, in the rare case it was written with escapes).
        package static func read<R>(_ layout: WebSocketMessageLayout, in payload: UnsafeRawBufferPointer,
                                    _ body: (ClientMessage) -> R) -> R? {
            let fields = layout.headerFields
            guard let typeToken = fields.msgType, let idToken = fields.msgID else { return nil }
            let scanner = JSONScanner(payload)
            let msgID = try? scanner.decodeString(idToken)
            guard typeToken.hasEscapes else {
                let raw = UnsafeRawBufferPointer(rebasing: payload[typeToken.contentRange])
                return body(ClientMessage(channel: layout.channel, msgType: raw, msgID: msgID, byteCount: payload.count))
            }
            // The rule table matches exact names, so an escape cannot smuggle a different type past it.
            var name = (try? scanner.decodeString(typeToken)) ?? "?"
            return name.withUTF8 { raw in
                body(ClientMessage(channel: layout.channel, msgType: UnsafeRawBufferPointer(raw),
                                   msgTypeHasEscapes: true, msgID: msgID, byteCount: payload.count))
            }
        }
    }
}

extension ChannelRouter {
    /// `parent_header.msg_id` of a kernel message, the key its reply is routed by; nil when absent, not a string,
    /// or the parent header does not scan.
    package static func parentMessageID(_ parentHeader: UnsafeRawBufferPointer) -> String? {
        guard let fields = try? HeaderFields.scan(parentHeader), let token = fields.msgID else { return nil }
        return try? JSONScanner(parentHeader).decodeString(token)
    }

    /// Whether a kernel message is the final reply to its request: its `msg_type` ends in `_reply` as written
    /// (an escaped name never counts). `fields` is the scan of `header`.
    package static func isReply(header: UnsafeRawBufferPointer, fields: HeaderFields) -> Bool {
        guard let type = fields.msgType else { return false }
        return JSONScanner(header).stringHasSuffix(type, "_reply")
    }
}

extension JSONScanner {
    /// True when the string token's raw content ends with `suffix` (escaped names never match).
    func stringHasSuffix(_ token: JSONStringToken, _ suffix: StaticString) -> Bool {
        !token.hasEscapes && UnsafeRawBufferPointer(rebasing: bytes[token.contentRange]).hasSuffix(suffix)
    }
}

extension UnsafeRawBufferPointer {
    /// True when these bytes end with `suffix`'s UTF-8 bytes.
    func hasSuffix(_ suffix: StaticString) -> Bool {
        let n = suffix.utf8CodeUnitCount
        guard count >= n else { return false }
        return suffix.withUTF8Buffer { s in
            for i in 0..<n where self[count - n + i] != s[i] { return false }
            return true
        }
    }
}
