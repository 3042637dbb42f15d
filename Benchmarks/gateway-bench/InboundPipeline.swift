import Authorization
import JupyterProtocol
import Synchronization

/// The gateway's client-to-kernel message path, composed from the library pieces exactly as the channel
/// bridge runs it, minus the socket calls: decode the WebSocket frame (which scans the header), check the
/// channel rule for the connection's user, stamp the authenticated username into the header, sign, and lay
/// out the ZeroMQ multipart. The frames are copied into `zmqStaging` (a reused buffer) to stand in for the
/// copy `zmq_send` makes.
///
/// Owns reusable buffers and the HMAC context: one instance per connection, one thread.
final class InboundPipeline {
    /// The WebSocket wire formats a client may use.
    enum Format {
        case legacyText, legacyBinary, v1
    }

    /// What happened to one message.
    enum Outcome: Equatable {
        /// Forwarded; `bytes` is the total size of the ZeroMQ frames.
        case forwarded(bytes: Int)
        /// Refused by the channel rules (or for a channel clients may not use).
        case denied
    }

    let signer: HMACSigner
    let username: JSONStringLiteral
    var permissions: ChannelPermissionCache
    /// The kernel's access record as last copied, and its generation published the way the gateway's
    /// kernel access box does (one atomic load per message).
    var access: KernelAccess
    let generation: Atomic<UInt64>
    /// The rewritten header of the message in flight.
    private var header: [UInt8] = []
    /// Stands in for the ZeroMQ send queue: every frame is copied here.
    private(set) var zmqStaging: [UInt8] = []
    /// Holds an escaped `msg_type` after unescaping (rare: clients do not escape ASCII names).
    private var msgTypeScratch: [UInt8] = []

    init(signer: HMACSigner, identity: Identity, policy: Policy, access: KernelAccess) {
        self.signer = signer
        self.username = JSONStringLiteral(identity.username)
        self.permissions = ChannelPermissionCache(policy: policy, identity: identity)
        self.access = access
        self.generation = Atomic(access.generation)
        header.reserveCapacity(1024)
        zmqStaging.reserveCapacity(16 * 1024)
        msgTypeScratch.reserveCapacity(64)
    }

    /// Runs the whole inbound path on one received frame.
    func forward(_ frame: UnsafeRawBufferPointer, format: Format) throws(ProtocolError) -> Outcome {
        let layout: WebSocketMessageLayout
        switch format {
        case .legacyText: layout = try LegacyWebSocketCodec.decode(text: frame)
        case .legacyBinary: layout = try LegacyWebSocketCodec.decode(binary: frame)
        case .v1: layout = try V1WebSocketCodec.decode(frame)
        }
        let channel = layout.channel
        guard let msgType = layout.headerFields.msgType, layout.headerFields.msgID != nil,
            channel != .iopub && channel != .hb
        else { return .denied }
        let decision = try withUnescaped(msgType, in: frame) { name in
            permissions.check(msgType: name, generation: generation.load(ordering: .acquiring)) { access }
        }
        guard decision.isAllowed else { return .denied }

        header.removeAll(keepingCapacity: true)
        try HeaderRewriter.replaceUsername(in: frame, fields: layout.headerFields, with: username, into: &header)
        let total = try header.withProtocolBytes { (rewritten) throws(ProtocolError) -> Int in
            var parts = layout.parts(in: frame)
            parts.header = rewritten
            let signature = try signer.sign(parts)
            zmqStaging.removeAll(keepingCapacity: true)
            ZMQFrames.forEachFrame(identities: EmptyCollection<UnsafeRawBufferPointer>(), signature: signature, parts: parts) { frame, _ in
                zmqStaging.append(contentsOf: frame)
            }
            return zmqStaging.count
        }
        return .forwarded(bytes: total)
    }

    /// Calls `body` with the decoded bytes of a string token: the raw content when it has no escapes
    /// (no copy), else the unescaped bytes in a reused scratch buffer.
    @inline(__always)
    private func withUnescaped<R>(
        _ token: JSONStringToken, in frame: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> R
    ) throws(ProtocolError) -> R {
        let content = token.contentRange
        guard !token.hasEscapes else {
            msgTypeScratch.removeAll(keepingCapacity: true)
            try JSONScanner(frame).unescape(token, into: &msgTypeScratch)
            return msgTypeScratch.withUnsafeBytes(body)
        }
        return body(UnsafeRawBufferPointer(rebasing: frame[content]))
    }
}
