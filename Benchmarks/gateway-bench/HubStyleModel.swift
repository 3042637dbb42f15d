import JupyterProtocol

/// A model of what the current gateway code does per message beyond `InboundPipeline` /
/// `OutboundPipeline`, to show what it costs. Modelled on `ChannelHub.handleClientMessage`,
/// `ChannelHub.route`, `Kernel.handleIncoming` and `ZMQSocket.receive(into:)` at main e2c20b3
/// (those are internal to their modules, so they cannot be called from here): `msg_id` decoded into a
/// `String` and kept in a `[String: …]` pending table, kernel frames copied into `[[UInt8]]` on receive,
/// the parent `msg_id` decoded for routing, and each reply encoded into a fresh array.
///
/// If those functions change, this model must follow; the lean pipelines are the lower bound it is
/// compared with. One instance, one thread.
final class HubStyleModel {
    let inbound: InboundPipeline
    let signer: HMACSigner
    /// Who asked, by request `msg_id` (the hub keeps a session key; a string stands in for it).
    private var pending: [String: String] = [:]
    /// `ZMQSocket.receive(into:)` keeps the outer array's capacity and allocates each frame.
    private var receiveBuffer: [[UInt8]] = []

    /// `parentID`, when given, is recorded as a pending request so that replies to it route.
    init(inbound: InboundPipeline, signer: HMACSigner, pendingReplyTo parentID: String?) {
        self.inbound = inbound
        self.signer = signer
        if let parentID { pending[parentID] = "session" }
        receiveBuffer.reserveCapacity(16)
    }

    /// The inbound path plus the hub's bookkeeping: decode `msg_id` to a `String`, check and record it in
    /// the pending table (and remove it again, which the hub does when the reply is routed, so the table
    /// stays the same size across iterations).
    func forward(_ frame: UnsafeRawBufferPointer, format: InboundPipeline.Format) throws(ProtocolError) -> Int {
        let layout: WebSocketMessageLayout
        switch format {
        case .legacyText: layout = try LegacyWebSocketCodec.decode(text: frame)
        case .legacyBinary: layout = try LegacyWebSocketCodec.decode(binary: frame)
        case .v1: layout = try V1WebSocketCodec.decode(frame)
        }
        guard let idToken = layout.headerFields.msgID else { return 0 }
        let msgID = try JSONScanner(frame).decodeString(idToken)
        guard pending[msgID] == nil else { return 0 }
        // The hub decodes once; this model decodes twice (here and in forward), so its figure is
        // "pipeline + bookkeeping + one extra decode"; subtract decode.* for the hub's own cost.
        guard case .forwarded(let bytes) = try inbound.forward(frame, format: format) else { return 0 }
        pending[msgID] = "session"
        pending[msgID] = nil
        return bytes
    }

    /// The outbound path as the kernel and hub run it today, for a shell reply to a pending request.
    func relay(_ views: [UnsafeRawBufferPointer], channel: Channel) throws(ProtocolError) -> Int {
        receiveBuffer.removeAll(keepingCapacity: true)
        for view in views { receiveBuffer.append(Array(view)) }
        let frames = receiveBuffer
        let layout = try ZMQFrameLayout.parse(frames)
        let verified = frames[layout.signature].withUnsafeBytes { signature in
            frames[layout.header].withUnsafeBytes { header in
                frames[layout.parentHeader].withUnsafeBytes { parent in
                    frames[layout.metadata].withUnsafeBytes { metadata in
                        frames[layout.content].withUnsafeBytes { content in
                            signer.verify(signature, header: header, parentHeader: parent, metadata: metadata, content: content)
                        }
                    }
                }
            }
        }
        guard verified else { return 0 }
        _ = UTCTimestamp.now()  // Kernel.lastActivity
        let parentID: String? = frames[layout.parentHeader].withUnsafeBytes { raw in
            guard let fields = try? HeaderFields.scan(raw), let token = fields.msgID else { return nil }
            return try? JSONScanner(raw).decodeString(token)
        }
        guard let parentID, pending[parentID] != nil else { return 0 }
        let isReply = frames[layout.header].withUnsafeBytes { raw -> Bool in
            guard let fields = try? HeaderFields.scan(raw), let type = fields.msgType else { return false }
            let suffix: StaticString = "_reply"
            let n = suffix.utf8CodeUnitCount
            let content = type.contentRange
            guard !type.hasEscapes, content.count >= n else { return false }
            for k in 0..<n where raw[content.upperBound - n + k] != suffix.utf8Start[k] { return false }
            return true
        }
        var buffer: [UInt8] = []
        frames[layout.header].withUnsafeBytes { h in
            frames[layout.parentHeader].withUnsafeBytes { p in
                frames[layout.metadata].withUnsafeBytes { m in
                    frames[layout.content].withUnsafeBytes { c in
                        V1WebSocketCodec.encode(
                            channel: channel, parts: MessageParts(header: h, parentHeader: p, metadata: m, content: c),
                            into: &buffer)
                    }
                }
            }
        }
        // The hub removes the entry for a reply; keep it so every iteration routes the same way.
        return isReply ? buffer.count : 0
    }
}
