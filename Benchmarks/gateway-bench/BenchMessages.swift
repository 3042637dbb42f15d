import Basics
import JupyterProtocol

/// The fixed, realistic messages every micro-benchmark uses.
///
/// Headers look like jupyter_client / JupyterLab ones: uuid4 `msg_id` and `session`, ISO 8601 dates with
/// microseconds, version 5.3. Frontend messages are compact JSON (`JSON.stringify`); kernel messages use
/// Python `json.dumps` separators (`", "`, `": "`), as `jupyter_client.session.Session` sends them.
enum BenchMessages {
    /// The kernel's HMAC key (jupyter_client writes a uuid4 string into the connection file).
    static let key = "4f7e3c2a-9d1b-4a8e-b6f0-2c5d8e9a1b3f"
    /// The authenticated user the gateway stamps into headers.
    static let username = "alice"
    /// The frontend's session id.
    static let session = "d5c1a7e2-3b84-4f6d-9e0a-71c2b5f8a4d9"

    /// The cell source: 193 characters with newlines, quotes and a tab, so the JSON has 18 escapes.
    static let code =
        "import numpy as np\nimport pandas as pd\n\ndf = pd.DataFrame({\"x\": np.arange(10), \"y\": np.random.rand(10)})\nfor i, row in df.iterrows():\n\tprint(f\"{i}: {row['x']:>4} {row['y']:.3f}\")\ndf.describe()\n"

    // MARK: execute_request (frontend -> gateway)

    static let requestHeader = """
        {"msg_id":"6f1c9b2e-8a4d-4c3f-b1e7-0d9a5f2c8e41","msg_type":"execute_request","username":"alice",\
        "session":"\(session)","date":"2026-03-14T09:26:53.589412Z","version":"5.3"}
        """
    static let requestParentHeader = "{}"
    static let requestMetadata = """
        {"deletedCells":[],"recordTiming":false,"cellId":"0b7e4a19-5c2d-4e8f-a3b6-91d0c7f2e5a8"}
        """
    static var requestContent: String {
        "{\"code\":\(jsonQuoted(code)),\"silent\":false,\"store_history\":true,\"user_expressions\":{},"
            + "\"allow_stdin\":true,\"stop_on_error\":true}"
    }

    /// A legacy JSON text frame as JupyterLab sends it without a subprotocol.
    static var legacyTextRequest: [UInt8] {
        Array(
            ("{\"header\":\(requestHeader),\"parent_header\":\(requestParentHeader),\"metadata\":\(requestMetadata),"
                + "\"content\":\(requestContent),\"buffers\":[],\"channel\":\"shell\"}").utf8)
    }

    /// The same message as a `v1.kernel.websocket.jupyter.org` binary frame.
    static var v1Request: [UInt8] {
        withParts(requestHeader, requestParentHeader, requestMetadata, requestContent) { parts in
            var out: [UInt8] = []
            V1WebSocketCodec.encode(channel: .shell, parts: parts, into: &out)
            return out
        }
    }

    // MARK: comm_msg with two binary buffers (legacy binary format, ipywidgets-style)

    static let commHeader = """
        {"msg_id":"a3e8d1f4-6b2c-4d9a-8f17-5e0c3b9a2d76","msg_type":"comm_msg","username":"alice",\
        "session":"\(session)","date":"2026-03-14T09:27:01.004117Z","version":"5.3"}
        """
    static let commContent = """
        {"comm_id":"8c2f5a1e-4d7b-4e93-a6c0-b5e1d9f3a274","data":{"method":"update",\
        "state":{"value":{},"mask":{}},"buffer_paths":[["value"],["mask"]]}}
        """
    /// Size of each of the two binary buffers.
    static let commBufferSize = 1024

    /// A legacy binary frame (offset table, JSON, two 1 KiB buffers).
    static var legacyBinaryComm: [UInt8] {
        let first = [UInt8](repeating: 0xA5, count: commBufferSize)
        let second = [UInt8](repeating: 0x5A, count: commBufferSize)
        return withParts(commHeader, "{}", "{}", commContent) { base in
            first.withUnsafeBytes { a in
                second.withUnsafeBytes { b in
                    var parts = base
                    parts.buffers = [a, b]
                    var out: [UInt8] = []
                    // The encoder only fails for a header without msg_id/msg_type, which this one has.
                    _ = try? LegacyWebSocketCodec.encode(channel: .shell, parts: parts, into: &out)
                    return out
                }
            }
        }
    }

    // MARK: execute_reply (kernel -> gateway, ZeroMQ frames)

    static let replyHeader = """
        {"msg_id": "3b7d2e9f-1c4a-4b8e-9f0d-6a2c5e8b1d47_2741_12", "msg_type": "execute_reply", \
        "username": "alice", "session": "3b7d2e9f-1c4a-4b8e-9f0d-6a2c5e8b1d47", \
        "date": "2026-03-14T09:26:53.671238Z", "version": "5.3"}
        """
    static var replyParentHeader: String {
        "{\"msg_id\": \"6f1c9b2e-8a4d-4c3f-b1e7-0d9a5f2c8e41\", \"msg_type\": \"execute_request\", "
            + "\"username\": \"alice\", \"session\": \"\(session)\", "
            + "\"date\": \"2026-03-14T09:26:53.589412Z\", \"version\": \"5.3\"}"
    }
    static let replyMetadata = """
        {"started": "2026-03-14T09:26:53.592806Z", "dependencies_met": true, \
        "engine": "9a4c1e7b-2f5d-4b8a-8e3c-0d6f9b2a5c18", "status": "ok"}
        """
    static let replyContent = """
        {"status": "ok", "execution_count": 12, "user_expressions": {}, "payload": []}
        """

    /// The `execute_reply` multipart as a shell DEALER receives it: `<IDS|MSG>`, signature, four dicts.
    static func replyFrames(signer: HMACSigner) throws(ProtocolError) -> [[UInt8]] {
        try kernelFrames(
            identities: [], signer: signer, header: replyHeader, parentHeader: replyParentHeader,
            metadata: replyMetadata, content: replyContent)
    }

    // MARK: iopub stream (kernel -> gateway, ZeroMQ frames with a topic)

    static let streamHeader = """
        {"msg_id": "3b7d2e9f-1c4a-4b8e-9f0d-6a2c5e8b1d47_2741_10", "msg_type": "stream", \
        "username": "alice", "session": "3b7d2e9f-1c4a-4b8e-9f0d-6a2c5e8b1d47", \
        "date": "2026-03-14T09:26:53.603311Z", "version": "5.3"}
        """
    static let streamContent = """
        {"name": "stdout", "text": "0:    0 0.417\\n1:    1 0.720\\n2:    2 0.000\\n3:    3 0.302\\n"}
        """

    /// An iopub `stream` multipart as a SUB socket receives it: topic, `<IDS|MSG>`, signature, four dicts.
    static func streamFrames(signer: HMACSigner) throws(ProtocolError) -> [[UInt8]] {
        try kernelFrames(
            identities: [Array("kernel.9a4c1e7b-2f5d-4b8a-8e3c-0d6f9b2a5c18.stream".utf8)], signer: signer,
            header: streamHeader, parentHeader: replyParentHeader, metadata: "{}", content: streamContent)
    }

    // MARK: Helpers

    private static func kernelFrames(
        identities: [[UInt8]], signer: HMACSigner, header: String, parentHeader: String, metadata: String,
        content: String
    ) throws(ProtocolError) -> [[UInt8]] {
        let result: Result<[[UInt8]], ProtocolError> = withParts(header, parentHeader, metadata, content) { parts in
            Result { () throws(ProtocolError) -> [[UInt8]] in
                let signature = try signer.sign(parts)
                return ZMQFrames.frames(identities: identities, signature: signature, parts: parts)
            }
        }
        return try result.get()
    }

    /// Calls `body` with borrowed parts over the UTF-8 bytes of the four dicts.
    static func withParts<R>(
        _ header: String, _ parentHeader: String, _ metadata: String, _ content: String,
        _ body: (MessageParts) -> R
    ) -> R {
        let h = Array(header.utf8), p = Array(parentHeader.utf8), m = Array(metadata.utf8), c = Array(content.utf8)
        return h.withUnsafeBytes { h in
            p.withUnsafeBytes { p in
                m.withUnsafeBytes { m in
                    c.withUnsafeBytes { c in
                        body(MessageParts(header: h, parentHeader: p, metadata: m, content: c))
                    }
                }
            }
        }
    }

    /// JSON string literal for `value` (quotes, backslash, control characters escaped).
    static func jsonQuoted(_ value: String) -> String {
        String(decoding: JSONEscaper.quoted(value), as: UTF8.self)
    }
}
