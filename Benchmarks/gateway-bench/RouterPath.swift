import Authorization
import EventLoop
import Gateway
import JupyterProtocol
import Synchronization

/// The channel bridge's per-message steps as `ChannelHub` runs them, with the gateway's real `ChannelRouter`
/// deciding and routing (through its `package` API) and the same reading helpers
/// (`ChannelRouter.ClientMessage.read`, `parentMessageID`, `isReply`). Only the socket and ZeroMQ calls are
/// missing: the frames a forwarded request would be sent as are staged in a reused buffer (as
/// `InboundPipeline` does), and an encoded reply stays in `out`.
///
/// The router holds one connection (id 1, alice, a session of her own) plus `extraReaders` more of alice's, half
/// of them legacy and half v1, for the iopub fan-out. One instance, one thread.
final class RouterPath {
    static let connection: ChannelRouter.ConnectionID = 1

    let signer: HMACSigner
    private(set) var router: ChannelRouter
    /// The kernel's access record and its generation, published the way the gateway's access box does (one
    /// atomic load per message).
    let access: KernelAccess
    let generation: Atomic<UInt64>
    private var header: [UInt8] = []
    private(set) var zmqStaging: [UInt8] = []
    private(set) var out: [UInt8] = []
    private var readers: [ChannelRouter.Recipient] = []
    /// The fixture request, forwarded once at setup: re-recorded after each routed reply so every iteration
    /// routes the same way.
    private var request: ChannelRouter.Forward?

    init(signer: HMACSigner, identity: Identity, policy: Policy, access: KernelAccess,
         format: WebSocketSubprotocol = .legacy, extraReaders: Int = 0) throws {
        self.signer = signer
        self.access = access
        generation = Atomic(access.generation)
        router = ChannelRouter(kernelID: "bench")
        let snapshot = access
        for i in 0...extraReaders {
            let outcome = router.connect(
                Self.connection + UInt64(i), identity: identity, sessionID: "\(BenchMessages.session)-\(i)",
                format: i == 0 ? format : (i % 2 == 0 ? .legacy : .v1),
                permissions: ChannelPermissionCache(policy: policy, identity: identity), remoteAddress: nil,
                generation: snapshot.generation, access: { snapshot })
            guard case .accepted = outcome else { throw BenchError("the router refused \(identity.username)") }
        }
        header.reserveCapacity(1024)
        zmqStaging.reserveCapacity(16 * 1024)
        out.reserveCapacity(16 * 1024)
        readers.reserveCapacity(extraReaders + 1)
    }

    /// Records the fixture request (`execute_request` with the reply fixture's parent `msg_id`) as pending, so
    /// that `relay` routes.
    func recordRequest(msgID: String) throws {
        var name = "execute_request"
        let gen = generation.load(ordering: .acquiring)
        let snapshot = access
        let decision = name.withUTF8 { raw in
            router.receive(from: Self.connection,
                           ChannelRouter.ClientMessage(channel: .shell, msgType: UnsafeRawBufferPointer(raw), msgID: msgID),
                           generation: gen, access: { snapshot }, now: Monotonic.now)
        }
        guard case .forward(let forward) = decision, router.sendCompleted(forward, result: .sent) == nil else {
            throw BenchError("the router did not forward the fixture request")
        }
        request = forward
    }

    /// The inbound path: decode, read the header facts (`msg_id` as a `String`), the router's decision
    /// (permission check included), the username stamp, sign, stage the frames, report the send (a pending
    /// insert); then the final reply's routing step, which removes the request again, so the pending table
    /// stays the same size across iterations. Returns the staged bytes, 0 when not forwarded.
    func forward(_ frame: UnsafeRawBufferPointer, format: InboundPipeline.Format) throws(ProtocolError) -> Int {
        let layout: WebSocketMessageLayout
        switch format {
        case .legacyText: layout = try LegacyWebSocketCodec.decode(text: frame)
        case .legacyBinary: layout = try LegacyWebSocketCodec.decode(binary: frame)
        case .v1: layout = try V1WebSocketCodec.decode(frame)
        }
        let gen = generation.load(ordering: .acquiring)
        let snapshot = access
        let decision = ChannelRouter.ClientMessage.read(layout, in: frame) { message in
            router.receive(from: Self.connection, message, generation: gen, access: { snapshot }, now: Monotonic.now)
        }
        guard case .forward(let forward)? = decision else { return 0 }
        header.removeAll(keepingCapacity: true)
        let range = try HeaderRewriter.replaceUsername(in: frame, fields: layout.headerFields, with: forward.username,
                                                       into: &header)
        try header.withProtocolBytes { (rewritten) throws(ProtocolError) in
            var parts = layout.parts(in: frame)
            parts.header = UnsafeRawBufferPointer(rebasing: rewritten[range])
            let signature = try signer.sign(parts)
            zmqStaging.removeAll(keepingCapacity: true)
            ZMQFrames.forEachFrame(identities: EmptyCollection<UnsafeRawBufferPointer>(), signature: signature, parts: parts) { frame, _ in
                zmqStaging.append(contentsOf: frame)
            }
        }
        guard router.sendCompleted(forward, result: .sent) == nil,
              case .deliver = router.kernelMessage(on: layout.channel, parentMessageID: forward.msgID, isReply: true)
        else { return 0 }
        return zmqStaging.count
    }

    /// The outbound path for a reply: frame layout over the received views, verify, the header scan the kernel
    /// hands over, the parent `msg_id` as a `String`, the router's route, encode for the recipient's format into
    /// a reused buffer; then the request is recorded again (one pending insert). Returns the encoded bytes, 0
    /// when not delivered.
    func relay(_ views: [UnsafeRawBufferPointer], channel: Channel) throws(ProtocolError) -> Int {
        let layout = try ZMQFrameLayout.parse(frameCount: views.count) { views[$0] }
        let parts = layout.parts(of: views)
        guard signer.verify(views[layout.signature], parts: parts) else { return 0 }
        let fields = try HeaderFields.scan(parts.header)
        let parentID = ChannelRouter.parentMessageID(parts.parentHeader)
        let isReply = ChannelRouter.isReply(header: parts.header, fields: fields)
        guard case .deliver(let recipient) = router.kernelMessage(on: channel, parentMessageID: parentID, isReply: isReply)
        else { return 0 }
        out.removeAll(keepingCapacity: true)
        switch recipient.format {
        case .v1: V1WebSocketCodec.encode(channel: channel, parts: parts, into: &out)
        case .legacy: try LegacyWebSocketCodec.encode(channel: channel, parts: parts, headerFields: fields, into: &out)
        }
        if isReply, let request { _ = router.sendCompleted(request, result: .sent) }
        return out.count
    }

    /// The router's part of an iopub message: the connections that may read (permission level per connection)
    /// and the parked sessions' collection (none parked here). Returns the reader count.
    func iopubRoute() -> Int {
        let gen = generation.load(ordering: .acquiring)
        let snapshot = access
        router.iopubReaders(generation: gen, access: { snapshot }, into: &readers)
        router.collectIOPub(generation: gen, access: { snapshot }) { _ in nil }
        return readers.count
    }

    /// The router's bookkeeping for one request and its reply, from an already read message (no decode, no
    /// `msg_id` allocation): receive, send reported, reply routed.
    func requestReply(_ message: ChannelRouter.ClientMessage) -> Int {
        let gen = generation.load(ordering: .acquiring)
        let snapshot = access
        guard case .forward(let forward) = router.receive(from: Self.connection, message, generation: gen,
                                                          access: { snapshot }, now: Monotonic.now),
              router.sendCompleted(forward, result: .sent) == nil,
              case .deliver(let recipient) = router.kernelMessage(on: .shell, parentMessageID: forward.msgID, isReply: true)
        else { return 0 }
        return Int(recipient.id)
    }
}
