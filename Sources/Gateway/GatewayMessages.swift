import Basics
import HTTPServer
import JupyterProtocol

/// Messages the gateway itself sends to clients: kernel status it knows before the kernel can say it
/// (`restarting`, `dead`), replies to denied or undeliverable requests, and protocol errors. They are built as
/// the four JSON parts and encoded in the client's wire format; they never go to the kernel, so they are not
/// signed.
enum GatewayMessages {
    static let gatewayUsername = "kernel-gateway"

    /// One gateway-made message, as its four parts.
    struct Message {
        var channel: Channel
        var header: [UInt8]
        var parentHeader: [UInt8] = Array("{}".utf8)
        var metadata: [UInt8] = Array("{}".utf8)
        var content: [UInt8]

        /// Appends the message in `format` to `out` and says which WebSocket frame kind carries it.
        func encode(_ format: WebSocketSubprotocol, into out: inout [UInt8]) -> WebSocketMessage.Kind {
            header.withUnsafeBytes { h in
                parentHeader.withUnsafeBytes { p in
                    metadata.withUnsafeBytes { m in
                        content.withUnsafeBytes { c in
                            let parts = MessageParts(header: h, parentHeader: p, metadata: m, content: c)
                            switch format {
                            case .v1:
                                V1WebSocketCodec.encode(channel: channel, parts: parts, into: &out)
                                return .binary
                            case .legacy:
                                // Our own headers always have msg_id and msg_type, so this cannot fail.
                                let kind = (try? LegacyWebSocketCodec.encode(channel: channel, parts: parts, into: &out)) ?? .text
                                return kind == .text ? .text : .binary
                            }
                        }
                    }
                }
            }
        }
    }

    static func header(_ msgType: String, session: String) -> [UInt8] {
        MessageHeader(msgType: msgType, username: gatewayUsername, session: session).bytes
    }

    /// iopub `status` with `execution_state` (e.g. restarting, dead, idle), optionally parented to a request.
    static func status(_ state: String, session: String, parent: [UInt8]? = nil, reason: String? = nil) -> Message {
        var content: [UInt8] = Array(#"{"execution_state":"#.utf8)
        JSONEscaper.appendQuoted(state, to: &content)
        if let reason {
            content.append(contentsOf: #","reason":"#.utf8)
            JSONEscaper.appendQuoted(reason, to: &content)
        }
        content.append(UInt8(ascii: "}"))
        return Message(channel: .iopub, header: header("status", session: session),
                       parentHeader: parent ?? Array("{}".utf8), content: content)
    }

    /// iopub `stream` (stderr) telling a reconnected client plainly that it did not get everything: `count` messages
    /// were dropped while its session was parked (replay buffer full, or lost with a connection closed as too slow).
    static func replayDroppedNotice(count: Int, session: String) -> Message {
        Message(channel: .iopub, header: header("stream", session: session),
                content: Array(#"{"name":"stderr","text":"[kernel-gateway] \#(count) messages sent while you were disconnected were dropped (replay buffer full)\n"}"#.utf8))
    }

    /// The reply a frontend expects to a request it sent, reporting an error instead of the kernel's answer:
    /// `X_request` gets `X_reply` with `status: error`; other message types get an `error` message. Parented to the
    /// request's header so the frontend's pending request completes.
    static func errorReply(to requestType: String, channel: Channel, requestHeader: [UInt8], session: String,
                           ename: String, evalue: String) -> Message {
        let replyType: String
        if requestType.hasSuffix("_request") {
            replyType = String(requestType.dropLast("_request".count)) + "_reply"
        } else {
            replyType = "error"
        }
        var content: [UInt8] = Array(#"{"status":"error","ename":"#.utf8)
        JSONEscaper.appendQuoted(ename, to: &content)
        content.append(contentsOf: #","evalue":"#.utf8)
        JSONEscaper.appendQuoted(evalue, to: &content)
        content.append(contentsOf: #","traceback":[]"#.utf8)
        if requestType == "execute_request" {
            content.append(contentsOf: #","execution_count":null,"user_expressions":{},"payload":[]"#.utf8)
        }
        content.append(UInt8(ascii: "}"))
        // A reply on iopub would reach nobody's pending request; errors about iopub/hb go back on shell.
        let replyChannel: Channel = (channel == .iopub || channel == .hb) ? .shell : channel
        return Message(channel: replyChannel, header: header(replyType, session: session),
                       parentHeader: requestHeader, content: content)
    }
}
