import Authorization
import EventLoop
import HTTPServer
import JupyterProtocol
import KernelRuntime
import Logging
import Synchronization

/// The channel bridge of one kernel: the transport around its `ChannelRouter`. It holds the kernel's WebSocket
/// connections, decodes and encodes frames, feeds the router every event, and carries out its answers: sends to
/// the kernel and to clients, closes, audit records, the sweep timer. Every routing and policy rule is the
/// router's (see `ChannelRouter`); nothing here decides who gets what.
///
/// It lives on the kernel's loop, next to the `Kernel` actor, so a client message goes from the socket to
/// `zmq_send` synchronously on one thread (see docs/architecture.md):
/// - inbound: decode the frame (legacy JSON text, legacy binary, or v1), read the header, ask the router, stamp
///   `header.username`, send, report the send to the router;
/// - outbound: replies are routed by their `parent_header.msg_id`, iopub fans out to the router's readers;
///   messages are encoded once per wire format into reused buffers.
///
/// Loop-bound: all state is touched on `loop`'s thread only.
final class ChannelHub: KernelMessageSink, WebSocketConnectionDelegate, @unchecked Sendable {
    // @unchecked Sendable, audited: the kernel actor calls the sink methods on its loop (the same as `loop`),
    // WebSocket callbacks run on `loop`, and every other entry point is reached through `loop.execute`. The only
    // state read from other threads is `connectionCount`, an atomic.

    /// The router's bounds and the WebSocket settings of the hub's connections.
    struct Limits {
        var router: ChannelRouter.Configuration
        var webSocket: WebSocketConnection.Configuration
    }

    let kernelID: String
    let kernel: Kernel
    let loop: EventLoop
    let access: KernelAccessBox
    private let policy: PolicyStore
    private let audit: AuditLog
    private let logger: Logger
    private let webSocketConfiguration: WebSocketConnection.Configuration

    private var router: ChannelRouter
    private var sockets: [ChannelRouter.ConnectionID: WebSocketConnection] = [:]
    /// Reused per iopub message.
    private var readers: [ChannelRouter.Recipient] = []
    private var legacyBuffer: [UInt8] = []
    private var v1Buffer: [UInt8] = []
    private var headerBuffer: [UInt8] = []
    private var replyBuffer: [UInt8] = []
    private var sweepTimer: TimerHandle?
    private let connections = Atomic<Int>(0)

    /// Clients connected right now (any thread).
    var connectionCount: Int { connections.load(ordering: .relaxed) }

    /// The router's counters (call on `loop`).
    var counters: ChannelRouter.Counters { router.counters }

    init(kernel: Kernel, access: KernelAccessBox, policy: PolicyStore, audit: AuditLog, limits: Limits, logger: Logger) {
        kernelID = kernel.id
        self.kernel = kernel
        loop = kernel.loop
        self.access = access
        self.policy = policy
        self.audit = audit
        webSocketConfiguration = limits.webSocket
        router = ChannelRouter(kernelID: kernel.id, configuration: limits.router)
        var logger = logger
        logger.metadata["kernel_id"] = kernel.id
        self.logger = logger
    }

    // MARK: - Clients

    /// Adopts an upgraded socket as a client of this kernel. Call on `loop`. A client with the same user and
    /// `session_id` as a connected one takes over from it; one that reconnects to a parked session first receives
    /// what it missed. `tokenDigest` is the digest of the token that authenticated the upgrade (nil without
    /// authentication): a reload that no longer accepts it closes the connection.
    func attach(_ socket: UpgradedSocket, identity: Identity, tokenDigest: TokenDigest?, sessionID: String,
                format: WebSocketSubprotocol, connectionID: UInt64, remoteAddress: String?) {
        loop.preconditionInEventLoop()
        let connection = WebSocketConnection(fd: socket.fd, pendingInput: socket.pendingInput, unsent: socket.unsent,
                                             loop: loop, configuration: webSocketConfiguration, id: connectionID,
                                             lease: socket.lease)
        if router.isClosed {
            // The kernel went away during the upgrade: the router refuses below, so say so and close.
            connection.delegate = nil
            try? connection.start()
        } else {
            connection.delegate = self
            do { try connection.start() } catch {
                logger.warning("cannot start WebSocket", metadata: ["error": "\(error)"])
                connection.close(code: .internalError, reason: "cannot register socket")
                return
            }
        }
        // A reload may have come between the upgrade's authentication and now, after its reauthorize pass over this
        // hub: check the users file in force again, and use the roles it gives now.
        var identity = identity
        let standing = policy.standing(of: identity.username, tokenDigest: tokenDigest)
        if let revoked = ChannelRouter.closing(connectionID, of: identity.username, after: standing) {
            connection.delegate = nil
            connection.close(code: revoked.code, reason: revoked.reason)
            return
        }
        if case .current(let now) = standing { identity = now }
        let outcome = router.connect(
            connectionID, identity: identity, tokenDigest: tokenDigest, sessionID: sessionID, format: format,
            permissions: ChannelPermissionCache(policy: policy.current, identity: identity),
            remoteAddress: remoteAddress, generation: access.generation, access: { access.snapshot })
        switch outcome {
        case .refused(let refusal):
            connection.delegate = nil
            connection.close(code: refusal.code, reason: refusal.reason)
        case .accepted(let replacing, let replay):
            if let replacing { close(replacing) }
            sockets[connectionID] = connection
            connections.store(router.connectionCount, ordering: .relaxed)
            if let replay { send(replay, to: connection, format: format, sessionID: sessionID) }
            armSweepTimer()
        }
    }

    private func armSweepTimer() {
        guard sweepTimer == nil else { return }
        sweepTimer = loop.scheduleTimer(after: .seconds(30)) { [self] in
            sweepTimer = nil
            if router.sweep(now: Monotonic.now) { armSweepTimer() }
        }
    }

    /// Closes every client (the kernel is gone). Call on `loop`.
    func close(reason: String) {
        loop.preconditionInEventLoop()
        close(router.close(reason: reason))
        if let sweepTimer { loop.cancelTimer(sweepTimer) }
        sweepTimer = nil
    }

    /// Applies a reloaded users file and policy to open connections: a user who no longer exists, and a connection
    /// whose token was rotated or revoked, is disconnected (1008); the others get their current roles and the
    /// current policy's rules. `standing` says what the reloaded users file makes of a username and token digest
    /// (see `ChannelRouter.reauthorize`). Call on `loop`.
    func reauthorize(policy newPolicy: Policy, standing: (String, TokenDigest?) -> CredentialStanding) {
        loop.preconditionInEventLoop()
        close(router.reauthorize(policy: newPolicy, standing: standing, generation: access.generation,
                                 access: { access.snapshot }))
    }

    /// Closes the connections of users who may no longer read the kernel (after a revoke). Call on `loop`.
    func enforceReadAccess() {
        loop.preconditionInEventLoop()
        close(router.accessChanged(generation: access.generation, access: { access.snapshot }))
    }

    /// The counters with the current buffered-bytes gauges. Call on `loop`.
    func snapshot() -> ChannelRouter.Counters {
        var result = router.counters
        result.outboundQueuedBytes = sockets.values.reduce(0) { $0 + $1.queuedBytes }
        result.replayBufferedBytes = router.replayBufferedBytes
        return result
    }

    private func close(_ closings: [ChannelRouter.Closing]) {
        for closing in closings { close(closing) }
    }

    /// Closes a connection the router has already let go of (its later close callback is then ignored).
    private func close(_ closing: ChannelRouter.Closing) {
        sockets.removeValue(forKey: closing.id)?.close(code: closing.code, reason: closing.reason)
        connections.store(router.connectionCount, ordering: .relaxed)
    }

    // MARK: - WebSocketConnectionDelegate

    func webSocket(_ connection: WebSocketConnection, didReceive kind: WebSocketMessage.Kind,
                   payload: UnsafeRawBufferPointer) {
        guard let format = router.format(of: connection.id) else { return }
        handleClientMessage(connection, format: format, kind: kind, payload: payload)
    }

    func webSocketDidDrain(_ connection: WebSocketConnection) {
        connection.resumeReading()
    }

    func webSocketDidClose(_ connection: WebSocketConnection, code: WebSocketCloseCode?) {
        sockets[connection.id] = nil
        router.disconnect(connection.id, now: Monotonic.now)
        connections.store(router.connectionCount, ordering: .relaxed)
    }

    // MARK: - Inbound (client → kernel)

    private func handleClientMessage(_ connection: WebSocketConnection, format: WebSocketSubprotocol,
                                     kind: WebSocketMessage.Kind, payload: UnsafeRawBufferPointer) {
        let id = connection.id
        let layout: WebSocketMessageLayout
        do throws(ProtocolError) {
            switch (format, kind) {
            case (.v1, .binary): layout = try V1WebSocketCodec.decode(payload)
            case (.v1, .text): throw ProtocolError(.wrongType, "v1.kernel.websocket.jupyter.org messages must be binary frames")
            case (.legacy, .text): layout = try LegacyWebSocketCodec.decode(text: payload)
            case (.legacy, .binary): layout = try LegacyWebSocketCodec.decode(binary: payload)
            }
        } catch {
            if case .reject(let rejection) = router.receiveMalformed(from: id, .undecodable(error.message)) {
                sendError(rejection, to: connection, requestType: nil, channel: .shell, requestHeader: nil)
            }
            return
        }
        let generation = access.generation
        let decision = ChannelRouter.ClientMessage.read(layout, in: payload) { message in
            router.receive(from: id, message, generation: generation, access: { access.snapshot }, now: Monotonic.now)
        } ?? router.receiveMalformed(from: id, .missingTypeOrID)
        switch decision {
        case .ignore:
            return
        case .reject(let rejection):
            reject(rejection, to: connection, layout: layout, payload: payload)
            return
        case .forward(let forward):
            // Stamp the authenticated user: kernels can trust header.username whatever the client wrote.
            headerBuffer.removeAll(keepingCapacity: true)
            let headerRange: Range<Int>
            do {
                headerRange = try HeaderRewriter.replaceUsername(in: payload, fields: layout.headerFields,
                                                                 with: forward.username, into: &headerBuffer)
            } catch {
                reject(.rewriteFailed(detail: error.message), to: connection, layout: layout, payload: payload)
                return
            }
            let result: Kernel.SendResult = headerBuffer.withUnsafeBytes { header in
                var parts = layout.parts(in: payload)
                parts.header = UnsafeRawBufferPointer(rebasing: header[headerRange])
                let transfer = UnsafeTransfer(parts)
                let channel = layout.channel
                return kernel.assumeIsolated { $0.send(channel, parts: transfer.value) }
            }
            if let rejection = router.sendCompleted(forward, result: result) {
                reject(rejection, to: connection, layout: layout, payload: payload)
            }
            if connection.isOverHighWater { connection.pauseReading() }
        }
    }

    /// Answers a rejected message that was decoded: writes the audit record of a denial, then the error reply.
    private func reject(_ rejection: ChannelRouter.Rejection, to connection: WebSocketConnection,
                        layout: WebSocketMessageLayout, payload: UnsafeRawBufferPointer) {
        if let decision = rejection.auditDecision, case .denied(_, let msgType, let channel, _, _, _) = rejection,
           let client = router.connection(connection.id) {
            audit.record(AuditEvent(timeMilliseconds: AuditLog.nowMilliseconds(), identity: client.identity,
                                    kernelID: kernelID, channel: channel, msgType: msgType, decision: decision,
                                    remoteAddress: client.remoteAddress))
        }
        var requestType: String?
        if rejection.answersRequestType, let token = layout.headerFields.msgType {
            requestType = try? JSONScanner(payload).decodeString(token)
        }
        sendError(rejection, to: connection, requestType: requestType, channel: layout.channel,
                  requestHeader: payload.slice(layout.header))
    }

    /// Sends the client an error reply to its request (see `GatewayMessages.errorReply`), and an iopub idle status
    /// parented to it when the frontend waits for one to complete the request.
    private func sendError(_ rejection: ChannelRouter.Rejection, to connection: WebSocketConnection,
                           requestType: String?, channel: Channel, requestHeader: [UInt8]?) {
        guard let client = router.connection(connection.id) else { return }
        let session = client.sessionKey.sessionID
        let parent = requestHeader ?? Array("{}".utf8)
        let reply = GatewayMessages.errorReply(to: requestType ?? "error", channel: channel, requestHeader: parent,
                                               session: session, ename: rejection.ename, evalue: rejection.evalue)
        deliver(reply, to: connection, format: client.format)
        if rejection.idleAfter && requestType?.hasSuffix("_request") == true {
            deliver(GatewayMessages.status("idle", session: session, parent: parent), to: connection, format: client.format)
        }
    }

    private func deliver(_ message: GatewayMessages.Message, to connection: WebSocketConnection,
                         format: WebSocketSubprotocol) {
        var out: [UInt8] = []
        let kind = message.encode(format, into: &out)
        out.withUnsafeBytes { _ = connection.send(kind, payload: $0) }
    }

    // MARK: - Outbound (kernel → clients)

    func kernel(_ kernelID: String, didReceive channel: Channel, frames: [[UInt8]], layout: ZMQFrameLayout,
                header: HeaderFields) {
        if channel == .iopub {
            fanOut(frames: frames, layout: layout, header: header)
        } else {
            route(channel: channel, frames: frames, layout: layout, header: header)
        }
    }

    func kernel(_ kernelID: String, didChangeState state: KernelLifecycle.ExecutionState, reason: String?) {
        if let reason {
            // A failure (crash, OOM kill), not a request: nobody acted, so the audit names no user.
            audit.record(AuditEvent(timeMilliseconds: AuditLog.nowMilliseconds(), user: nil, action: "died",
                                    resource: "kernels/\(kernelID)", outcome: .failed,
                                    reason: "\(reason); \(state == .dead ? "not restarted" : "restarting")"))
        }
        func encode(_ format: WebSocketSubprotocol) -> ReplayBuffer.Entry {
            var bytes: [UInt8] = []
            let kind = GatewayMessages.status(state.rawValue, session: "kernel-gateway", reason: reason)
                .encode(format, into: &bytes)
            return ReplayBuffer.Entry(kind: kind, bytes: bytes)
        }
        var encoded = EncodedPerFormat<ReplayBuffer.Entry>()
        for recipient in router.kernelStateChanged(state, encode: { encoded.value(for: $0, encode) }) {
            guard let connection = sockets[recipient.id] else { continue }
            let status = encoded.value(for: recipient.format, encode)
            status.bytes.withUnsafeBytes { _ = connection.send(status.kind, payload: $0) }
        }
    }

    private func fanOut(frames: [[UInt8]], layout: ZMQFrameLayout, header: HeaderFields) {
        let generation = access.generation
        router.iopubReaders(generation: generation, access: { access.snapshot }, into: &readers)
        // Encoded at most once per format, into the reused buffers (no allocation per message once they have grown).
        var legacyKind: WebSocketMessage.Kind?
        var legacyTried = false, v1Ready = false
        func encoded(_ format: WebSocketSubprotocol) -> WebSocketMessage.Kind? {
            switch format {
            case .legacy:
                if !legacyTried {
                    legacyKind = encode(frames, layout, header, .iopub, .legacy, into: &legacyBuffer)
                    legacyTried = true
                }
                return legacyKind
            case .v1:
                if !v1Ready { _ = encode(frames, layout, header, .iopub, .v1, into: &v1Buffer); v1Ready = true }
                return .binary
            }
        }
        var anyFailed = false
        for reader in readers {
            guard let connection = sockets[reader.id], let kind = encoded(reader.format) else { continue }
            let sent = reader.format == .v1 ? v1Buffer.withUnsafeBytes { connection.send(kind, payload: $0) }
                                            : legacyBuffer.withUnsafeBytes { connection.send(kind, payload: $0) }
            if !sent {
                // Closed for being too slow: its session is parked (this message goes into its replay buffer
                // with the parked sessions below), and on reconnect it is told that what was queued to it was lost.
                sockets[reader.id] = nil
                router.deliveryFailed(reader.id, now: Monotonic.now, undelivered: .iopub)
                anyFailed = true
            }
        }
        if anyFailed { connections.store(router.connectionCount, ordering: .relaxed) }
        router.collectIOPub(generation: generation, access: { access.snapshot }) { format in
            encoded(format).map { ReplayBuffer.Entry(kind: $0, bytes: format == .v1 ? v1Buffer : legacyBuffer) }
        }
    }

    private func route(channel: Channel, frames: [[UInt8]], layout: ZMQFrameLayout, header: HeaderFields) {
        let parentID = frames[layout.parentHeader].withUnsafeBytes { ChannelRouter.parentMessageID($0) }
        let isReply = frames[layout.header].withUnsafeBytes { ChannelRouter.isReply(header: $0, fields: header) }
        switch router.kernelMessage(on: channel, parentMessageID: parentID, isReply: isReply) {
        case .drop:
            return
        case .deliver(let recipient):
            guard let connection = sockets[recipient.id],
                  let kind = encode(frames, layout, header, channel, recipient.format, into: &replyBuffer) else { return }
            let sent = replyBuffer.withUnsafeBytes { connection.send(kind, payload: $0) }
            guard !sent else { return }
            // The client was just closed for being too slow: its session is parked and keeps the reply.
            sockets[recipient.id] = nil
            router.deliveryFailed(recipient.id, now: Monotonic.now,
                                  undelivered: .reply(ReplayBuffer.Entry(kind: kind, bytes: replyBuffer)))
            connections.store(router.connectionCount, ordering: .relaxed)
        case .park(let session, let format):
            var buffer: [UInt8] = []
            if let kind = encode(frames, layout, header, channel, format, into: &buffer) {
                router.keep(ReplayBuffer.Entry(kind: kind, bytes: buffer), for: session)
            }
        }
    }

    /// Encodes a kernel message for clients of `format` into `out` (replacing its contents).
    private func encode(_ frames: [[UInt8]], _ layout: ZMQFrameLayout, _ header: HeaderFields, _ channel: Channel,
                        _ format: WebSocketSubprotocol, into out: inout [UInt8]) -> WebSocketMessage.Kind? {
        out.removeAll(keepingCapacity: true)
        return withKernelParts(frames, layout) { parts in
            switch format {
            case .v1:
                V1WebSocketCodec.encode(channel: channel, parts: parts, into: &out)
                return .binary
            case .legacy:
                guard let kind = try? LegacyWebSocketCodec.encode(channel: channel, parts: parts, headerFields: header,
                                                                  into: &out) else {
                    return nil
                }
                return kind == .text ? .text : .binary
            }
        }
    }

    // MARK: - Replay

    /// Sends a reconnected client what its session kept: first a notice when messages were dropped, then the
    /// entries, converted when they were stored in the other wire format.
    private func send(_ replay: ChannelRouter.Replay, to connection: WebSocketConnection, format: WebSocketSubprotocol,
                      sessionID: String) {
        if replay.dropped > 0 {
            deliver(GatewayMessages.replayDroppedNotice(count: replay.dropped, session: sessionID), to: connection,
                    format: format)
        }
        for entry in replay.entries {
            if replay.storedFormat == format {
                entry.bytes.withUnsafeBytes { _ = connection.send(entry.kind, payload: $0) }
            } else if let converted = convert(entry, from: replay.storedFormat, to: format) {
                converted.1.withUnsafeBytes { _ = connection.send(converted.0, payload: $0) }
            }
        }
    }

    private func convert(_ entry: ReplayBuffer.Entry, from: WebSocketSubprotocol, to: WebSocketSubprotocol)
        -> (WebSocketMessage.Kind, [UInt8])? {
        entry.bytes.withUnsafeBytes { raw -> (WebSocketMessage.Kind, [UInt8])? in
            let layout: WebSocketMessageLayout
            do {
                switch (from, entry.kind) {
                case (.v1, _): layout = try V1WebSocketCodec.decode(raw, validateParts: false)
                case (.legacy, .text): layout = try LegacyWebSocketCodec.decode(text: raw)
                case (.legacy, .binary): layout = try LegacyWebSocketCodec.decode(binary: raw)
                }
            } catch { return nil }
            var out: [UInt8] = []
            let parts = layout.parts(in: raw)
            switch to {
            case .v1:
                V1WebSocketCodec.encode(channel: layout.channel, parts: parts, into: &out)
                return (.binary, out)
            case .legacy:
                guard let kind = try? LegacyWebSocketCodec.encode(channel: layout.channel, parts: parts, into: &out) else { return nil }
                return (kind == .text ? .text : .binary, out)
            }
        }
    }
}

/// Calls `body` with the kernel message's parts as raw views (valid during the call).
private func withKernelParts<R>(_ frames: [[UInt8]], _ layout: ZMQFrameLayout,
                                _ body: (MessageParts) -> R) -> R {
    frames[layout.header].withUnsafeBytes { h in
        frames[layout.parentHeader].withUnsafeBytes { p in
            frames[layout.metadata].withUnsafeBytes { m in
                frames[layout.content].withUnsafeBytes { c in
                    withFrameViews(frames, layout.buffers) { buffers in
                        body(MessageParts(header: h, parentHeader: p, metadata: m, content: c, buffers: buffers))
                    }
                }
            }
        }
    }
}

/// Calls `body` with raw views of `frames[range]` (valid during the call).
private func withFrameViews<R>(_ frames: [[UInt8]], _ range: Range<Int>, _ body: ([UnsafeRawBufferPointer]) -> R) -> R {
    if range.isEmpty { return body([]) }
    func step(_ index: Int, _ views: [UnsafeRawBufferPointer]) -> R {
        if index == range.upperBound { return body(views) }
        return frames[index].withUnsafeBytes { step(index + 1, views + [$0]) }
    }
    return step(range.lowerBound, [])
}

extension UnsafeRawBufferPointer {
    /// A copy of the bytes in `range`.
    func slice(_ range: Range<Int>) -> [UInt8] { Array(self[range]) }
}
