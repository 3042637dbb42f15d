import Authorization
import EventLoop
import HTTPServer
import JupyterProtocol
import KernelRuntime
import Logging
import Synchronization

/// The channel bridge of one kernel: every WebSocket client of the kernel, and the routing between them and the
/// kernel's one set of ZeroMQ sockets.
///
/// It lives on the kernel's loop, next to the `Kernel` actor, so a client message goes from the socket to
/// `zmq_send` synchronously on one thread (see docs/architecture.md):
/// - inbound: decode the frame (legacy JSON text, legacy binary, or v1), scan the header, check the channel rule
///   for the authenticated user, stamp `header.username`, remember which session asked (by `msg_id`), sign and
///   send;
/// - outbound: replies on shell/control/stdin go only to the session whose request they answer (looked up by
///   `parent_header.msg_id`, never by anything a client wrote); iopub fans out to every client that may read the
///   kernel; sessions whose socket is gone get a bounded replay buffer.
///
/// Loop-bound: all state is touched on `loop`'s thread only.
final class ChannelHub: KernelMessageSink, WebSocketConnectionDelegate, @unchecked Sendable {
    // @unchecked Sendable, audited: the kernel actor calls the sink methods on its loop (the same as `loop`),
    // WebSocket callbacks run on `loop`, and every other entry point is reached through `loop.execute`. The only
    // state read from other threads is `connectionCount`, an atomic.

    struct Limits {
        var replayBufferBytes: Int
        var maxOutstandingPerClient = 10_000
        var maxDisconnectedSessions = 64
        var disconnectedSessionTTL: Duration = .seconds(600)
        var webSocket: WebSocketConnection.Configuration
    }

    /// Per-hub counters, read by metrics.
    struct Counters {
        var inbound: [Int] = [0, 0, 0, 0]   // by Authorization.Channel raw value
        var outbound: [Int] = [0, 0, 0, 0]
        var denied = 0
        var malformed = 0
        var queueFull = 0
        var unroutable = 0
        var replayed = 0
        var replayDropped = 0
        /// Channel denials by the level the message needed (read, execute, owner).
        var deniedByRequirement: [String: Int] = [:]
        /// Restarts announced to clients (`restarting` status), automatic or requested.
        var restartsAnnounced = 0
        /// Bytes waiting in clients' outbound queues and in parked sessions' replay buffers (a gauge, filled in
        /// by `snapshot()`).
        var outboundQueuedBytes = 0
        var replayBufferedBytes = 0
    }

    /// Longest `msg_id` accepted (UUIDs are 32-36); it is remembered until the reply, so it must be bounded.
    static let maxMessageIDBytes = 256

    let kernelID: String
    let kernel: Kernel
    let loop: EventLoop
    let access: KernelAccessBox
    private let policy: PolicyStore
    private let audit: AuditLog
    private let logger: Logger
    private let limits: Limits

    private var clients: [UInt64: ChannelClient] = [:]
    private var sessions: [SessionKey: SessionState] = [:]
    private var pending: [String: SessionKey] = [:]
    private var legacyBuffer: [UInt8] = []
    private var v1Buffer: [UInt8] = []
    private var headerBuffer: [UInt8] = []
    private var replyBuffer: [UInt8] = []
    private var sweepTimer: TimerHandle?
    private(set) var counters = Counters()
    private let connections = Atomic<Int>(0)
    private var closed = false

    /// Clients connected right now (any thread).
    var connectionCount: Int { connections.load(ordering: .relaxed) }

    private struct SessionState {
        var connectionID: UInt64?
        var format: WebSocketSubprotocol
        var replay: ReplayBuffer?
        var disconnectedAt: UInt64 = 0
        /// The session's user's channel permissions, so a parked session collects output only while that user
        /// may still read the kernel.
        var permissions: ChannelPermissionCache
        /// Requests forwarded for this session and not answered yet: per session, not per connection, so
        /// reconnecting does not reset the bound. Shared with the session's current client (no lookup per message).
        var outstanding = OutstandingRequests()
    }

    init(kernel: Kernel, access: KernelAccessBox, policy: PolicyStore, audit: AuditLog, limits: Limits, logger: Logger) {
        kernelID = kernel.id
        self.kernel = kernel
        loop = kernel.loop
        self.access = access
        self.policy = policy
        self.audit = audit
        self.limits = limits
        var logger = logger
        logger.metadata["kernel_id"] = kernel.id
        self.logger = logger
    }

    // MARK: - Clients

    /// Adopts an upgraded socket as a client of this kernel. Call on `loop`. A client with the same user and
    /// `session_id` as a connected one takes over from it; one that reconnects to a parked session first receives
    /// what it missed.
    func attach(fd: Int32, pendingInput: [UInt8], unsent: [UInt8], identity: Identity, sessionID: String,
                format: WebSocketSubprotocol, connectionID: UInt64, remoteAddress: String?) {
        loop.preconditionInEventLoop()
        let connection = WebSocketConnection(fd: fd, pendingInput: pendingInput, unsent: unsent, loop: loop,
                                             configuration: limits.webSocket, id: connectionID)
        guard !closed else {
            // The kernel went away during the upgrade: say so and close.
            connection.delegate = nil
            try? connection.start()
            connection.close(code: .goingAway, reason: "kernel shut down")
            return
        }
        let key = SessionKey(username: identity.username, sessionID: sessionID)
        var cache = ChannelPermissionCache(policy: policy.current, identity: identity)
        let client = ChannelClient(connection: connection, identity: identity, session: key, format: format,
                                   permissions: cache, remoteAddress: remoteAddress)
        connection.delegate = self
        do { try connection.start() } catch {
            logger.warning("cannot start WebSocket", metadata: ["error": "\(error)"])
            connection.close(code: .internalError, reason: "cannot register socket")
            return
        }
        // Access was checked at the upgrade, but a revoke may have run on this loop since.
        guard cache.level(generation: access.generation, access: { access.snapshot }) >= .read else {
            connection.delegate = nil
            connection.close(code: .policyViolation, reason: "no access to this kernel")
            forgetSession(key)
            return
        }
        var replay: ReplayBuffer?
        var replayFormat = format
        if var state = sessions[key] {
            if let oldID = state.connectionID, let old = clients[oldID] {
                old.replaced = true
                old.connection.close(code: .normalClosure, reason: "replaced by a newer connection for this session")
                removeClient(oldID)
            }
            replay = state.replay
            replayFormat = state.format
            state.replay = nil
            state.connectionID = connectionID
            state.format = format
            state.permissions = cache
            sessions[key] = state
            client.outstanding = state.outstanding
        } else {
            let state = SessionState(connectionID: connectionID, format: format, permissions: cache)
            sessions[key] = state
            client.outstanding = state.outstanding
        }
        clients[connectionID] = client
        connections.store(clients.count, ordering: .relaxed)
        if var replay, replay.count > 0 || replay.dropped > 0 {
            replayMissed(&replay, to: client, storedAs: replayFormat)
        }
        armSweepTimer()
    }

    /// Removes a client; its session is parked for replay, unless `mayResume` is false (its user lost access)
    /// or replay is off, in which case the session and its pending requests are forgotten.
    private func removeClient(_ id: UInt64, mayResume: Bool = true) {
        guard let client = clients.removeValue(forKey: id) else { return }
        connections.store(clients.count, ordering: .relaxed)
        guard !client.replaced, var state = sessions[client.session], state.connectionID == id else { return }
        state.connectionID = nil
        if mayResume && limits.replayBufferBytes > 0 && !closed {
            state.replay = ReplayBuffer(capacityBytes: limits.replayBufferBytes)
            state.disconnectedAt = Monotonic.now
            sessions[client.session] = state
            evictParkedSessionsIfNeeded()
        } else {
            forgetSession(client.session)
        }
    }

    private func forgetSession(_ key: SessionKey) {
        sessions[key] = nil
        pending = pending.filter { $0.value != key }
    }

    private func evictParkedSessionsIfNeeded() {
        let parked = sessions.filter { $0.value.connectionID == nil }
        guard parked.count > limits.maxDisconnectedSessions else { return }
        let oldest = parked.sorted { $0.value.disconnectedAt < $1.value.disconnectedAt }
        for (key, _) in oldest.prefix(parked.count - limits.maxDisconnectedSessions) { forgetSession(key) }
    }

    private func armSweepTimer() {
        guard sweepTimer == nil else { return }
        sweepTimer = loop.scheduleTimer(after: .seconds(30)) { [self] in
            sweepTimer = nil
            let now = Monotonic.now
            let ttl = UInt64(limits.disconnectedSessionTTL.nanoseconds)
            for (key, state) in sessions where state.connectionID == nil && now &- state.disconnectedAt > ttl {
                forgetSession(key)
            }
            if !sessions.isEmpty { armSweepTimer() }
        }
    }

    /// Closes every client (the kernel is gone). Call on `loop`.
    func close(reason: String) {
        loop.preconditionInEventLoop()
        closed = true
        for client in Array(clients.values) {
            client.connection.close(code: .goingAway, reason: reason)
        }
        clients.removeAll()
        sessions.removeAll()
        pending.removeAll()
        connections.store(0, ordering: .relaxed)
        if let sweepTimer { loop.cancelTimer(sweepTimer) }
        sweepTimer = nil
    }

    /// Applies a reloaded users file and policy to open connections: a user who no longer exists is disconnected
    /// (1008), the others get their current roles and the current policy's rules. `resolve` maps a username to its
    /// identity now, or nil when the user is gone. Call on `loop`.
    func reauthorize(policy newPolicy: Policy, resolve: (String) -> Identity?) {
        loop.preconditionInEventLoop()
        for client in Array(clients.values) {
            guard let identity = resolve(client.identity.username) else {
                client.connection.close(code: .policyViolation, reason: "user \(client.identity.username) was removed")
                removeClient(client.connection.id, mayResume: false)
                continue
            }
            client.identity = identity
            client.permissions = ChannelPermissionCache(policy: newPolicy, identity: identity)
            sessions[client.session]?.permissions = client.permissions
        }
        for (key, state) in sessions where state.connectionID == nil {
            if let identity = resolve(key.username) {
                var updated = state
                updated.permissions = ChannelPermissionCache(policy: newPolicy, identity: identity)
                sessions[key] = updated
            } else {
                forgetSession(key)
            }
        }
        enforceReadAccess()
    }

    /// Closes the connections of users who may no longer read the kernel (after a revoke). Call on `loop`.
    func enforceReadAccess() {
        loop.preconditionInEventLoop()
        let generation = access.generation
        for client in Array(clients.values) {
            let level = client.permissions.level(generation: generation) { access.snapshot }
            if level < .read {
                client.connection.close(code: .policyViolation, reason: "access to this kernel was revoked")
                removeClient(client.connection.id, mayResume: false)
            }
        }
        // Parked sessions of users who lost access keep nothing more and can never be resumed.
        for (key, var state) in sessions where state.connectionID == nil {
            if state.permissions.level(generation: generation, access: { access.snapshot }) < .read {
                forgetSession(key)
            } else {
                sessions[key] = state
            }
        }
    }

    /// The counters with the current buffered-bytes gauges. Call on `loop`.
    func snapshot() -> Counters {
        var result = counters
        result.outboundQueuedBytes = clients.values.reduce(0) { $0 + $1.connection.queuedBytes }
        result.replayBufferedBytes = sessions.values.reduce(0) { $0 + ($1.replay?.bytes ?? 0) }
        return result
    }

    // MARK: - WebSocketConnectionDelegate

    func webSocket(_ connection: WebSocketConnection, didReceive kind: WebSocketMessage.Kind,
                   payload: UnsafeRawBufferPointer) {
        guard let client = clients[connection.id] else { return }
        handleClientMessage(client, kind: kind, payload: payload)
    }

    func webSocketDidDrain(_ connection: WebSocketConnection) {
        connection.resumeReading()
    }

    func webSocketDidClose(_ connection: WebSocketConnection, code: WebSocketCloseCode?) {
        removeClient(connection.id)
    }

    // MARK: - Inbound (client → kernel)

    private func handleClientMessage(_ client: ChannelClient, kind: WebSocketMessage.Kind, payload: UnsafeRawBufferPointer) {
        let layout: WebSocketMessageLayout
        do throws(ProtocolError) {
            switch (client.format, kind) {
            case (.v1, .binary): layout = try V1WebSocketCodec.decode(payload)
            case (.v1, .text): throw ProtocolError(.wrongType, "v1.kernel.websocket.jupyter.org messages must be binary frames")
            case (.legacy, .text): layout = try LegacyWebSocketCodec.decode(text: payload)
            case (.legacy, .binary): layout = try LegacyWebSocketCodec.decode(binary: payload)
            }
        } catch {
            counters.malformed += 1
            sendError(to: client, requestType: nil, channel: .shell, requestHeader: nil,
                      ename: "ProtocolError", evalue: "the gateway could not decode this message: \(error.message)")
            return
        }
        let fields = layout.headerFields
        guard let typeToken = fields.msgType, let idToken = fields.msgID else {
            counters.malformed += 1
            sendError(to: client, requestType: nil, channel: layout.channel, requestHeader: payload.slice(layout.header),
                      ename: "ProtocolError", evalue: "header.msg_type and header.msg_id are required")
            return
        }
        let scanner = JSONScanner(payload)
        let authzChannel: Authorization.Channel
        switch layout.channel {
        case .shell: authzChannel = .shell
        case .control: authzChannel = .control
        case .stdin: authzChannel = .stdin
        case .iopub, .hb:
            counters.malformed += 1
            sendError(to: client, requestType: try? scanner.decodeString(typeToken), channel: layout.channel,
                      requestHeader: payload.slice(layout.header), ename: "ProtocolError",
                      evalue: "clients cannot send on the \(layout.channel.rawValue) channel")
            return
        }
        // Permission check on the raw msg_type bytes (an escaped name is decoded first; the rule table matches
        // exact names, so an escape cannot smuggle a different type past it).
        let decision: ChannelDecision
        if typeToken.hasEscapes {
            let name = (try? scanner.decodeString(typeToken)) ?? ""
            decision = check(client, authzChannel, name)
        } else {
            let raw = UnsafeRawBufferPointer(rebasing: payload[typeToken.contentRange])
            let generation = access.generation
            decision = client.permissions.check(channel: authzChannel, msgType: raw, generation: generation) { access.snapshot }
        }
        counters.inbound[Int(authzChannel.rawValue)] += 1
        if case .denied = decision {
            counters.denied += 1
            if case .denied(let required, _) = decision { counters.deniedByRequirement[required.name, default: 0] += 1 }
            let msgType = (try? scanner.decodeString(typeToken)) ?? "?"
            audit.record(AuditEvent(timeMilliseconds: AuditLog.nowMilliseconds(), identity: client.identity,
                                    kernelID: kernelID, channel: authzChannel, msgType: msgType, decision: decision,
                                    remoteAddress: client.remoteAddress))
            let evalue: String
            if case .denied(let required, let had) = decision {
                evalue = "\(client.identity.username) may not send \(msgType) on \(authzChannel.name): it needs \(required.name) access to kernel \(kernelID), and you have \(had.name)"
            } else { evalue = "denied" }
            sendError(to: client, requestType: msgType, channel: layout.channel, requestHeader: payload.slice(layout.header),
                      ename: "PermissionDenied", evalue: evalue, idleAfter: true)
            return
        }
        guard let msgID = try? scanner.decodeString(idToken), !msgID.isEmpty, msgID.utf8.count <= Self.maxMessageIDBytes else {
            counters.malformed += 1
            sendError(to: client, requestType: try? scanner.decodeString(typeToken), channel: layout.channel,
                      requestHeader: payload.slice(layout.header), ename: "ProtocolError",
                      evalue: "header.msg_id must be a non-empty string of at most \(Self.maxMessageIDBytes) bytes")
            return
        }
        let expectsReply = scanner.stringHasSuffix(typeToken, "_request")
        if let owner = pending[msgID], owner != client.session {
            sendError(to: client, requestType: try? scanner.decodeString(typeToken), channel: layout.channel,
                      requestHeader: payload.slice(layout.header), ename: "ProtocolError",
                      evalue: "msg_id \(msgID) is already in use by another session; use a fresh id per request")
            return
        }
        if expectsReply {
            if client.outstanding.count >= limits.maxOutstandingPerClient {
                sendError(to: client, requestType: try? scanner.decodeString(typeToken), channel: layout.channel,
                          requestHeader: payload.slice(layout.header), ename: "TooManyRequests",
                          evalue: "more than \(limits.maxOutstandingPerClient) requests are waiting for replies")
                return
            }
        }
        // Stamp the authenticated user: kernels can trust header.username whatever the client wrote.
        headerBuffer.removeAll(keepingCapacity: true)
        let headerRange: Range<Int>
        do {
            headerRange = try HeaderRewriter.replaceUsername(in: payload, fields: fields, with: client.usernameLiteral,
                                                             into: &headerBuffer)
        } catch {
            sendError(to: client, requestType: nil, channel: layout.channel, requestHeader: payload.slice(layout.header),
                      ename: "ProtocolError", evalue: "cannot rewrite the header: \(error.message)")
            return
        }
        let result: Kernel.SendResult = headerBuffer.withUnsafeBytes { header in
            var parts = layout.parts(in: payload)
            parts.header = UnsafeRawBufferPointer(rebasing: header[headerRange])
            let transfer = UnsafeTransfer(parts)
            let channel = layout.channel
            return kernel.assumeIsolated { $0.send(channel, parts: transfer.value) }
        }
        switch result {
        case .sent:
            if expectsReply {
                if pending[msgID] == nil { client.outstanding.count += 1 }
                pending[msgID] = client.session
            }
        case .queueFull:
            counters.queueFull += 1
            sendError(to: client, requestType: try? scanner.decodeString(typeToken), channel: layout.channel,
                      requestHeader: payload.slice(layout.header), ename: "KernelBusy",
                      evalue: "the kernel is not reading its messages; try again later", idleAfter: true)
        case .notRunning:
            sendError(to: client, requestType: try? scanner.decodeString(typeToken), channel: layout.channel,
                      requestHeader: payload.slice(layout.header), ename: "KernelNotRunning",
                      evalue: "kernel \(kernelID) is not running", idleAfter: true)
        }
        if client.connection.isOverHighWater { client.connection.pauseReading() }
    }

    private func check(_ client: ChannelClient, _ channel: Authorization.Channel, _ msgType: String) -> ChannelDecision {
        let generation = access.generation
        var name = msgType
        return name.withUTF8 { raw in
            client.permissions.check(channel: channel, msgType: UnsafeRawBufferPointer(raw), generation: generation) {
                access.snapshot
            }
        }
    }

    /// Sends `client` an error reply to its request (see `GatewayMessages.errorReply`), and an iopub idle status
    /// parented to it when the frontend waits for one to complete the request.
    private func sendError(to client: ChannelClient, requestType: String?, channel: Channel, requestHeader: [UInt8]?,
                           ename: String, evalue: String, idleAfter: Bool = false) {
        let session = client.session.sessionID
        let parent = requestHeader ?? Array("{}".utf8)
        let reply = GatewayMessages.errorReply(to: requestType ?? "error", channel: channel, requestHeader: parent,
                                               session: session, ename: ename, evalue: evalue)
        deliver(reply, to: client)
        if idleAfter && requestType?.hasSuffix("_request") == true {
            deliver(GatewayMessages.status("idle", session: session, parent: parent), to: client)
        }
    }

    private func deliver(_ message: GatewayMessages.Message, to client: ChannelClient) {
        var out: [UInt8] = []
        let kind = message.encode(client.format, into: &out)
        out.withUnsafeBytes { _ = client.connection.send(kind, payload: $0) }
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

    func kernel(_ kernelID: String, didChangeState state: KernelLifecycle.ExecutionState) {
        guard state == .restarting || state == .dead else { return }
        if state == .restarting { counters.restartsAnnounced += 1 }
        // Requests the old process had not answered never will be: forget them so they do not count against
        // their clients' limits (their clients see the status below).
        pending.removeAll()
        for state in sessions.values { state.outstanding.count = 0 }
        let message = GatewayMessages.status(state.rawValue, session: "kernel-gateway")
        var legacy: [UInt8] = [], v1: [UInt8] = []
        let legacyKind = message.encode(.legacy, into: &legacy)
        _ = message.encode(.v1, into: &v1)
        for client in clients.values {
            let (kind, bytes) = client.format == .v1 ? (WebSocketMessage.Kind.binary, v1) : (legacyKind, legacy)
            bytes.withUnsafeBytes { _ = client.connection.send(kind, payload: $0) }
        }
        for (key, var state) in sessions where state.connectionID == nil {
            let (kind, bytes) = state.format == .v1 ? (WebSocketMessage.Kind.binary, v1) : (legacyKind, legacy)
            state.replay?.append(kind, bytes)
            sessions[key] = state
        }
    }

    private func fanOut(frames: [[UInt8]], layout: ZMQFrameLayout, header: HeaderFields) {
        counters.outbound[Int(Authorization.Channel.iopub.rawValue)] += 1
        var legacyKind: WebSocketMessage.Kind?
        var v1Ready = false
        let generation = access.generation
        var tooSlow: [UInt64] = []
        for client in clients.values {
            let level = client.permissions.level(generation: generation) { access.snapshot }
            guard level >= .read else { continue }
            let sent: Bool
            switch client.format {
            case .legacy:
                if legacyKind == nil { legacyKind = encode(frames, layout, header, .iopub, .legacy, into: &legacyBuffer) }
                guard let kind = legacyKind else { continue }
                sent = legacyBuffer.withUnsafeBytes { client.connection.send(kind, payload: $0) }
            case .v1:
                if !v1Ready { _ = encode(frames, layout, header, .iopub, .v1, into: &v1Buffer); v1Ready = true }
                sent = v1Buffer.withUnsafeBytes { client.connection.send(.binary, payload: $0) }
            }
            if !sent { tooSlow.append(client.connection.id) }
        }
        // Clients just closed for being too slow: their sessions are parked now, and they will be told on
        // reconnect that output was lost (what was queued to them, at least this message).
        for id in tooSlow {
            guard let key = clients[id]?.session else { continue }
            removeClient(id)
            sessions[key]?.replay?.noteDropped(1)
        }
        guard sessions.count > clients.count else { return }
        for (key, var state) in sessions where state.connectionID == nil && state.replay != nil {
            // A parked session collects output only while its user may still read the kernel.
            guard state.permissions.level(generation: generation, access: { access.snapshot }) >= .read else {
                forgetSession(key)
                continue
            }
            switch state.format {
            case .legacy:
                if legacyKind == nil { legacyKind = encode(frames, layout, header, .iopub, .legacy, into: &legacyBuffer) }
                if let kind = legacyKind { state.replay?.append(kind, legacyBuffer) }
            case .v1:
                if !v1Ready { _ = encode(frames, layout, header, .iopub, .v1, into: &v1Buffer); v1Ready = true }
                state.replay?.append(.binary, v1Buffer)
            }
            sessions[key] = state
        }
    }

    private func route(channel: Channel, frames: [[UInt8]], layout: ZMQFrameLayout, header: HeaderFields) {
        let parentID: String? = frames[layout.parentHeader].withUnsafeBytes { raw in
            guard let fields = try? HeaderFields.scan(raw), let token = fields.msgID else { return nil }
            return try? JSONScanner(raw).decodeString(token)
        }
        guard let parentID, let key = pending[parentID] else {
            // Nobody asked (or the asker's session is gone): a reply never goes to anyone else.
            counters.unroutable += 1
            return
        }
        let isReply = frames[layout.header].withUnsafeBytes { raw -> Bool in
            guard let type = header.msgType else { return false }
            return JSONScanner(raw).stringHasSuffix(type, "_reply")
        }
        let authz: Authorization.Channel = channel == .control ? .control : channel == .stdin ? .stdin : .shell
        counters.outbound[Int(authz.rawValue)] += 1
        guard sessions[key] != nil else {
            pending[parentID] = nil
            return
        }
        if isReply {
            pending[parentID] = nil
            if let outstanding = sessions[key]?.outstanding, outstanding.count > 0 { outstanding.count -= 1 }
        }
        if let id = sessions[key]?.connectionID, let client = clients[id],
           let kind = encode(frames, layout, header, channel, client.format, into: &replyBuffer) {
            let sent = replyBuffer.withUnsafeBytes { client.connection.send(kind, payload: $0) }
            guard !sent else { return }
            // The client was just closed for being too slow: park its session and keep the reply for it.
            removeClient(id)
        }
        guard var state = sessions[key], state.connectionID == nil, state.replay != nil else { return }
        var buffer: [UInt8] = []
        if let kind = encode(frames, layout, header, channel, state.format, into: &buffer) { state.replay?.append(kind, buffer) }
        sessions[key] = state
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

    private func replayMissed(_ replay: inout ReplayBuffer, to client: ChannelClient, storedAs stored: WebSocketSubprotocol) {
        let (entries, dropped) = replay.drain()
        if dropped > 0 {
            counters.replayDropped += dropped
            // Tell the client plainly that it did not get everything.
            let notice = GatewayMessages.Message(
                channel: .iopub, header: GatewayMessages.header("stream", session: client.session.sessionID),
                content: Array(#"{"name":"stderr","text":"[kernel-gateway] \#(dropped) messages sent while you were disconnected were dropped (replay buffer full)\n"}"#.utf8))
            deliver(notice, to: client)
        }
        for entry in entries {
            counters.replayed += 1
            if stored == client.format {
                entry.bytes.withUnsafeBytes { _ = client.connection.send(entry.kind, payload: $0) }
            } else if let converted = convert(entry, from: stored, to: client.format) {
                converted.1.withUnsafeBytes { _ = client.connection.send(converted.0, payload: $0) }
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

extension JSONScanner {
    /// True when the string token's raw content ends with `suffix` (escaped names never match).
    func stringHasSuffix(_ token: JSONStringToken, _ suffix: StaticString) -> Bool {
        guard !token.hasEscapes else { return false }
        let content = token.contentRange
        let n = suffix.utf8CodeUnitCount
        guard content.count >= n else { return false }
        return suffix.withUTF8Buffer { s in
            for i in 0..<n where bytes[content.upperBound - n + i] != s[i] { return false }
            return true
        }
    }
}
