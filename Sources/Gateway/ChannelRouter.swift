import Authorization
import HTTPServer
import JupyterProtocol
import KernelRuntime

/// The routing and policy of one kernel's channels as a pure value: events in, outcomes out, no I/O, no clock,
/// no timers. `ChannelHub` owns one, decodes and encodes frames, feeds it every event and carries out what it
/// answers on the sockets and the kernel (docs/architecture.md; the model is `KernelLifecycle`).
///
/// It owns the connections (identity, session, format, permission cache), the sessions (connected or parked with a
/// replay buffer), the pending requests (request `msg_id` → session), and the per-kernel counters. The rules it
/// implements (docs/operations.md "Message path and limits", "Reconnects and replay", "Errors on the channel";
/// docs/authorization.md "Channel messages"):
/// - A session is (authenticated user, `session_id`). A new connection of the same user and session takes it
///   over (the old connection is closed with 1000) and first gets the replay; another user with the same id gets
///   a session of their own.
/// - Every client message is checked against the channel rules for the connection's user, with the kernel's
///   access read through its generation (a revoke applies to the very next message). iopub and hb are not for
///   clients. `msg_id` must be a non-empty string of at most `maxMessageIDBytes` bytes, not pending for another
///   session; a session may have at most `maxOutstandingPerSession` requests waiting for replies.
/// - A kernel message on shell, control or stdin goes only to the session whose request it answers, found by its
///   `parent_header.msg_id` (never by anything a client wrote); the final `_reply` ends the request. iopub goes to
///   every connection whose user may read the kernel, and to parked sessions whose user still may.
/// - A closed connection's session is parked (when replay is on and the user keeps access) with a bounded
///   replay buffer, for `parkedSessionTTL`; at most `maxParkedSessions` are kept (oldest forgotten first).
/// - A restart or death forgets pending requests and is announced to everybody; a revoke or a removed user
///   closes the user's connections with 1008 and forgets their parked sessions; a rotated or revoked token closes
///   the connections it opened with 1008.
///
/// Time is the caller's monotonic clock in nanoseconds (`now`). The kernel's access record is read through
/// `generation` and `access`, which is called only when the generation differs from the one a permission cache
/// was computed at. Not thread-safe (a value; its owner keeps it on one loop).
package struct ChannelRouter: Sendable {
    /// Longest `msg_id` accepted (UUIDs are 32-36); it is remembered until the reply, so it must be bounded.
    package static let maxMessageIDBytes = 256

    package let kernelID: String
    package let configuration: Configuration
    package private(set) var counters = Counters()
    /// Set by `close`; then every connect is refused and nothing is parked.
    package private(set) var isClosed = false

    // Records live in arrays, which the hot path reads and updates in place (a dictionary's values would be
    // copied whole on every read); small dictionaries map ids and keys to positions.
    /// Open connections, in no particular order; `connectionIndex` gives each one's position.
    private var connectionTable: [Connection] = []
    private var connectionIndex: [ConnectionID: Int] = [:]
    /// Sessions by `SessionHandle.slot`, in two parallel arrays: what every message touches (plain values) and
    /// the rest. Free slots have serial 0 and a nil record, and are listed in `freeSessionSlots`.
    private var sessionState: [SessionState] = []
    private var sessionRecords: [SessionRecord?] = []
    private var freeSessionSlots: [Int] = []
    private var sessionCount = 0
    private var sessionsByKey: [SessionKey: SessionHandle] = [:]
    /// Requests forwarded and not answered yet: request `msg_id` → the session that sent it.
    private var pending: [String: SessionHandle] = [:]
    private var lastSessionSerial: UInt64 = 0
    /// The rate of readers' messages, per username (one entry per user who ever sent as a reader; bounded by the
    /// users file).
    private var readerRates: [String: ReaderRateLimiter] = [:]

    package init(kernelID: String, configuration: Configuration = Configuration()) {
        self.kernelID = kernelID
        self.configuration = configuration
    }

    // MARK: - Queries

    /// Connections open now.
    package var connectionCount: Int { connectionTable.count }

    /// The wire format of connection `id`, or nil when it is not (or no longer) connected.
    package func format(of id: ConnectionID) -> WebSocketSubprotocol? {
        connectionIndex[id].map { connectionTable[$0].format }
    }

    /// Bytes held in parked sessions' replay buffers.
    package var replayBufferedBytes: Int { sessionRecords.reduce(0) { $0 + ($1?.replay?.bytes ?? 0) } }

    /// The record of connection `id`.
    func connection(_ id: ConnectionID) -> Connection? { connectionIndex[id].map { connectionTable[$0] } }

    /// The session of `username` with `sessionID`, if the router has one.
    func session(username: String, sessionID: String) -> Session? {
        sessionsByKey[SessionKey(username: username, sessionID: sessionID)].flatMap { session($0) }
    }

    /// The session with `handle`, if the router still has it.
    func session(_ handle: SessionHandle) -> Session? {
        guard let s = slot(of: handle), let record = sessionRecords[s] else { return nil }
        let state = sessionState[s]
        return Session(handle: handle, key: record.key, connectionID: state.connectionID, format: state.format,
                       replay: record.replay, parkedAt: record.parkedAt, permissions: record.permissions,
                       outstanding: state.outstanding)
    }

    /// Sessions without a connection.
    var parkedSessionCount: Int { sessionState.reduce(0) { $0 + ($1.isParked ? 1 : 0) } }

    /// Requests waiting for replies, over all sessions.
    var pendingCount: Int { pending.count }

    // MARK: - Connections

    /// A WebSocket of `identity` for session `sessionID` was upgraded. `tokenDigest` is the digest of the token
    /// that authenticated the upgrade (nil without authentication), kept so that `reauthorize` closes the
    /// connection once that token stops working. `permissions` is a fresh cache for the identity under the current
    /// policy. Refused (nothing recorded) when the router is closed or the user may no longer read the kernel (a
    /// revoke may have happened since the upgrade was authorized); the refused user's session, if any, is
    /// forgotten.
    package mutating func connect(
        _ id: ConnectionID, identity: Identity, tokenDigest: TokenDigest? = nil, sessionID: String,
        format: WebSocketSubprotocol, permissions: ChannelPermissionCache, remoteAddress: String?, generation: UInt64,
        access: () -> KernelAccess
    ) -> ConnectOutcome {
        guard !isClosed else { return .refused(Closing(id: id, code: .goingAway, reason: "kernel shut down")) }
        // Connection ids are never reused; should one be, its old record goes first, as if it had closed for good.
        removeConnection(id, parkingAt: nil)
        let key = SessionKey(username: identity.username, sessionID: sessionID)
        var permissions = permissions
        guard permissions.level(generation: generation, access: access) >= .read else {
            if let handle = sessionsByKey[key] { forgetSession(handle) }
            return .refused(Closing(id: id, code: .policyViolation, reason: "no access to this kernel"))
        }
        var replacing: Closing?
        var kept: ReplayBuffer?
        var storedFormat = format
        let handle: SessionHandle
        if let existing = sessionsByKey[key], let s = slot(of: existing) {
            handle = existing
            if let old = sessionState[s].connectionID, removeConnectionRecord(old) != nil {
                replacing = Closing(id: old, code: .normalClosure, reason: "replaced by a newer connection for this session")
            }
            kept = sessionRecords[s]!.replay
            storedFormat = sessionState[s].format
            sessionRecords[s]!.replay = nil
            sessionRecords[s]!.permissions = permissions
            sessionState[s].connectionID = id
            sessionState[s].format = format
        } else {
            handle = addSession(key: key, connectionID: id, format: format, permissions: permissions)
        }
        connectionIndex[id] = connectionTable.count
        connectionTable.append(Connection(
            id: id, identity: identity, tokenDigest: tokenDigest, usernameLiteral: JSONStringLiteral(identity.username),
            sessionKey: key, session: handle, format: format, permissions: permissions, remoteAddress: remoteAddress))
        var replay: Replay?
        if var kept, kept.count > 0 || kept.dropped > 0 {
            let (entries, dropped) = kept.drain()
            counters.replayDropped += dropped
            counters.replayed += entries.count
            replay = Replay(entries: entries, dropped: dropped, storedFormat: storedFormat)
        }
        return .accepted(replacing: replacing, replay: replay)
    }

    /// Connection `id` closed (or is being closed by the owner). Its session is parked for replay when
    /// `mayResume`, replay is on and the router is open; otherwise the session and its pending requests are
    /// forgotten. Ignored for unknown connections and for one whose session a newer connection took over.
    @discardableResult
    package mutating func disconnect(_ id: ConnectionID, now: UInt64, mayResume: Bool = true) -> DisconnectOutcome {
        removeConnection(id, parkingAt: mayResume ? now : nil)
    }

    /// A send to connection `id` failed: it was closed for being too slow (or was already closing). Parks its
    /// session as `disconnect` does, and accounts for the message: see `Undelivered`.
    @discardableResult
    package mutating func deliveryFailed(_ id: ConnectionID, now: UInt64, undelivered: Undelivered) -> DisconnectOutcome {
        let outcome = removeConnection(id, parkingAt: now)
        if case .parked(let handle, _) = outcome, let s = slot(of: handle) {
            switch undelivered {
            case .iopub: sessionRecords[s]!.replay?.noteDropped(1)
            case .reply(let entry): sessionRecords[s]!.replay?.append(entry.kind, entry.bytes)
            }
        }
        return outcome
    }

    /// Forgets parked sessions older than `parkedSessionTTL`. Returns whether any session remains (the owner's
    /// cue to keep its sweep timer running).
    @discardableResult
    package mutating func sweep(now: UInt64) -> Bool {
        let ttl = configuration.parkedSessionTTL
        let expired = sessionRecords.indices.compactMap { s in
            sessionState[s].isParked && now &- sessionRecords[s]!.parkedAt > ttl ? sessionRecords[s]!.handle : nil
        }
        for handle in expired { forgetSession(handle) }
        return sessionCount > 0
    }

    /// The kernel is gone: every connection is to be closed with 1001 and `reason`; everything is forgotten and
    /// later connects are refused.
    package mutating func close(reason: String) -> [Closing] {
        isClosed = true
        let closings = connectionTable.map { Closing(id: $0.id, code: .goingAway, reason: reason) }
        connectionTable.removeAll()
        connectionIndex.removeAll()
        sessionState.removeAll()
        sessionRecords.removeAll()
        freeSessionSlots.removeAll()
        sessionCount = 0
        sessionsByKey.removeAll()
        pending.removeAll()
        return closings
    }

    // MARK: - Access changes

    /// The kernel's grants changed (share or revoke): connections of users who may no longer read it are to be
    /// closed with 1008 (their sessions are forgotten, not parked), and parked sessions of such users are
    /// forgotten, so a later re-grant replays nothing from the time without access.
    package mutating func accessChanged(generation: UInt64, access: () -> KernelAccess) -> [Closing] {
        var revoked: [ConnectionID] = []
        for c in connectionTable.indices
        where connectionTable[c].permissions.level(generation: generation, access: access) < .read {
            revoked.append(connectionTable[c].id)
        }
        for id in revoked { removeConnection(id, parkingAt: nil) }
        var lost: [SessionHandle] = []
        for s in sessionState.indices where sessionState[s].isParked {
            if sessionRecords[s]!.permissions.level(generation: generation, access: access) < .read {
                lost.append(sessionRecords[s]!.handle)
            }
        }
        for handle in lost { forgetSession(handle) }
        return revoked.map { Closing(id: $0, code: .policyViolation, reason: "access to this kernel was revoked") }
    }

    /// The users file and policy were reloaded: `standing` says what the reloaded file makes of a username and the
    /// digest of the token a connection was opened with (nil for a parked session: the user only). Connections
    /// of removed users, and connections whose token was rotated or revoked, are to be closed with 1008 and their
    /// sessions forgotten; removed users' parked sessions are forgotten; the others get their current roles and
    /// `policy`'s rules; then `accessChanged` applies.
    package mutating func reauthorize(
        policy: Policy, standing: (_ username: String, _ tokenDigest: TokenDigest?) -> CredentialStanding,
        generation: UInt64, access: () -> KernelAccess
    ) -> [Closing] {
        var closings: [Closing] = []
        for connection in connectionTable {
            let username = connection.identity.username
            let now = standing(username, connection.tokenDigest)
            guard case .current(let identity) = now else {
                if let closing = Self.closing(connection.id, of: username, after: now) { closings.append(closing) }
                removeConnection(connection.id, parkingAt: nil)
                continue
            }
            let permissions = ChannelPermissionCache(policy: policy, identity: identity)
            if let c = connectionIndex[connection.id] {
                connectionTable[c].identity = identity
                connectionTable[c].permissions = permissions
            }
            if let s = slot(of: connection.session) { sessionRecords[s]!.permissions = permissions }
        }
        for s in sessionState.indices where sessionState[s].isParked {
            let record = sessionRecords[s]!
            if case .current(let identity) = standing(record.key.username, nil) {
                sessionRecords[s]!.permissions = ChannelPermissionCache(policy: policy, identity: identity)
            } else {
                forgetSession(record.handle)
            }
        }
        return closings + accessChanged(generation: generation, access: access)
    }

    /// The 1008 closing for connection `id` of `username` once their credentials no longer stand: the user was
    /// removed, or the token the connection was opened with was rotated or revoked. Nil while they are `current`.
    package static func closing(_ id: ConnectionID, of username: String,
                                after standing: CredentialStanding) -> Closing? {
        switch standing {
        case .current: nil
        case .userRemoved: Closing(id: id, code: .policyViolation, reason: "user \(username) was removed")
        case .tokenRevoked:
            Closing(id: id, code: .policyViolation, reason: "the token of user \(username) was rotated or revoked")
        }
    }

    // MARK: - Client → kernel

    /// A message from connection `id` that could not be decoded or lacks `msg_type`/`msg_id`: counted as
    /// malformed and rejected.
    package mutating func receiveMalformed(from id: ConnectionID, _ problem: Malformed) -> InboundDecision {
        guard connectionIndex[id] != nil else { return .ignore }
        counters.malformed += 1
        switch problem {
        case .undecodable(let detail): return .reject(.undecodable(detail: detail))
        case .missingTypeOrID: return .reject(.missingTypeOrID)
        }
    }

    /// Decides on a decoded message from connection `id`: channel, permission (which may recompute the user's
    /// level through `access` when `generation` moved), a reader's size and rate limits at `now` (monotonic
    /// nanoseconds), `msg_id`, and the session's outstanding bound. On `.forward`, report the send with
    /// `sendCompleted`. No allocation on the forward path.
    package mutating func receive(
        from id: ConnectionID, _ message: ClientMessage, generation: UInt64, access: () -> KernelAccess,
        now: UInt64
    ) -> InboundDecision {
        guard let c = connectionIndex[id] else { return .ignore }
        let channel = message.channel
        guard channel != .iopub && channel != .hb else {
            counters.malformed += 1
            return .reject(.clientChannel(channel))
        }
        // A reader's messages must not keep the kernel (or the gateway's audit log) from its users' work: bounded
        // in size and rate, denied ones included, per user on this kernel so that reconnecting or opening more
        // sockets buys no more. Users who may execute code can occupy the kernel anyway: not limited here.
        if connectionTable[c].permissions.level(generation: generation, access: access) < .execute {
            let limits = configuration.readerLimits
            if message.byteCount > limits.maxMessageBytes {
                counters.readerLimited += 1
                return .reject(.readerMessageTooLarge(limit: limits.maxMessageBytes))
            }
            if !readerRates[connectionTable[c].identity.username, default: ReaderRateLimiter()].admit(now: now, limits: limits) {
                counters.readerLimited += 1
                return .reject(.readerRateLimited(perSecond: limits.messagesPerSecond, burst: limits.burst))
            }
        }
        let decision = connectionTable[c].permissions.check(
            msgType: message.msgType, generation: generation, access: access)
        counters.inbound[channel.index] += 1
        if case .denied(let required, let had) = decision {
            counters.denied += 1
            counters.deniedByRequirement[required.name, default: 0] += 1
            return .reject(.denied(username: connectionTable[c].identity.username, msgType: message.msgTypeName,
                                   channel: channel, required: required, had: had, kernelID: kernelID))
        }
        guard let msgID = message.msgID, !msgID.isEmpty, msgID.utf8.count <= Self.maxMessageIDBytes else {
            counters.malformed += 1
            return .reject(.invalidMessageID(maxBytes: Self.maxMessageIDBytes))
        }
        let session = connectionTable[c].session
        if let owner = pending[msgID], owner != session { return .reject(.messageIDInUse(msgID)) }
        let expectsReply = message.expectsReply
        if expectsReply, let s = slot(of: session),
           sessionState[s].outstanding >= configuration.maxOutstandingPerSession {
            return .reject(.tooManyRequests(limit: configuration.maxOutstandingPerSession))
        }
        return .forward(Forward(connection: id, session: session, msgID: msgID, expectsReply: expectsReply,
                                username: connectionTable[c].usernameLiteral))
    }

    /// The owner tried to send a forwarded message to the kernel. Sent requests are recorded as pending for
    /// their session (a `msg_id` the same session already has pending is not counted twice); a full queue or a
    /// stopped kernel is answered with `KernelBusy` / `KernelNotRunning`.
    package mutating func sendCompleted(_ forward: Forward, result: Kernel.SendResult) -> Rejection? {
        switch result {
        case .sent:
            guard forward.expectsReply else { return nil }
            if pending.updateValue(forward.session, forKey: forward.msgID) == nil, let s = slot(of: forward.session) {
                sessionState[s].outstanding += 1
            }
            return nil
        case .queueFull:
            counters.queueFull += 1
            return .kernelBusy
        case .notRunning:
            return .kernelNotRunning(kernelID: kernelID)
        }
    }

    // MARK: - Kernel → clients

    /// A kernel message on shell, control or stdin parented to `parentMessageID`: it goes only to the session
    /// whose request that is. A final reply (`isReply`) ends the request. Nobody gets it when no request is
    /// pending under that id.
    package mutating func kernelMessage(on channel: Channel, parentMessageID: String?, isReply: Bool) -> ReplyRoute {
        guard let parentMessageID, let p = pending.index(forKey: parentMessageID) else {
            counters.unroutable += 1
            return .drop
        }
        let handle = pending.values[p]
        counters.outbound[channel.index] += 1
        guard let s = slot(of: handle) else {
            pending.remove(at: p)
            return .drop
        }
        if isReply {
            pending.remove(at: p)
            if sessionState[s].outstanding > 0 { sessionState[s].outstanding -= 1 }
        }
        let state = sessionState[s]
        if let id = state.connectionID { return .deliver(Recipient(id: id, format: state.format)) }
        return sessionRecords[s]!.replay != nil ? .park(handle, format: state.format) : .drop
    }

    /// Keeps a kernel message for a parked session (after `.park`). Ignored when the session is gone or connected.
    package mutating func keep(_ entry: ReplayBuffer.Entry, for session: SessionHandle) {
        guard let s = slot(of: session), sessionState[s].isParked else { return }
        sessionRecords[s]!.replay?.append(entry.kind, entry.bytes)
    }

    /// An iopub message: fills `readers` (emptied first, capacity kept) with the connections whose user may read
    /// the kernel now. The owner sends to each, reports failed sends with `deliveryFailed(_:now:undelivered:
    /// .iopub)`, then calls `collectIOPub`. No allocation once `readers` has grown to the connection count.
    package mutating func iopubReaders(generation: UInt64, access: () -> KernelAccess, into readers: inout [Recipient]) {
        readers.removeAll(keepingCapacity: true)
        counters.outbound[Channel.iopub.index] += 1
        for c in connectionTable.indices
        where connectionTable[c].permissions.level(generation: generation, access: access) >= .read {
            readers.append(Recipient(id: connectionTable[c].id, format: connectionTable[c].format))
        }
    }

    /// The second half of an iopub message: parked sessions keep it in their replay buffer while their user may
    /// read the kernel; those whose user may not are forgotten. `encode` gives the message in a format (nil when
    /// it cannot be encoded in it); it is called at most once per format, and not at all when no session is
    /// parked.
    package mutating func collectIOPub(
        generation: UInt64, access: () -> KernelAccess, encode: (WebSocketSubprotocol) -> ReplayBuffer.Entry?
    ) {
        guard sessionCount > connectionTable.count else { return }
        var encoded = EncodedPerFormat<ReplayBuffer.Entry?>()
        var lost: [SessionHandle] = []
        for s in sessionState.indices where sessionState[s].isParked && sessionRecords[s]!.replay != nil {
            if sessionRecords[s]!.permissions.level(generation: generation, access: access) < .read {
                lost.append(sessionRecords[s]!.handle)
            } else if let entry = encoded.value(for: sessionState[s].format, encode) {
                sessionRecords[s]!.replay?.append(entry.kind, entry.bytes)
            }
        }
        for handle in lost { forgetSession(handle) }
    }

    /// The kernel is restarting or dead: requests it had not answered never will be, so pending requests are
    /// forgotten (they no longer count against their sessions' bound); parked sessions keep the status message
    /// (`encode` gives it per format). Returns the connections to send it to: all of them, or none for states
    /// that are not announced (idle, busy, starting; `encode` is not called then).
    package mutating func kernelStateChanged(
        _ state: KernelLifecycle.ExecutionState, encode: (WebSocketSubprotocol) -> ReplayBuffer.Entry
    ) -> [Recipient] {
        guard state == .restarting || state == .dead else { return [] }
        if state == .restarting { counters.restartsAnnounced += 1 }
        pending.removeAll()
        var encoded = EncodedPerFormat<ReplayBuffer.Entry>()
        for s in sessionState.indices where sessionState[s].isLive {
            sessionState[s].outstanding = 0
            if sessionState[s].isParked {
                let entry = encoded.value(for: sessionState[s].format, encode)
                sessionRecords[s]!.replay?.append(entry.kind, entry.bytes)
            }
        }
        return connectionTable.map { Recipient(id: $0.id, format: $0.format) }
    }

    // MARK: - Helpers

    /// The slot of a live session, or nil when `handle` names one that is gone.
    private func slot(of handle: SessionHandle) -> Int? {
        handle.slot < sessionState.count && sessionState[handle.slot].serial == handle.serial ? handle.slot : nil
    }

    private mutating func addSession(key: SessionKey, connectionID: ConnectionID, format: WebSocketSubprotocol,
                                     permissions: ChannelPermissionCache) -> SessionHandle {
        lastSessionSerial += 1
        let slot: Int
        if let free = freeSessionSlots.popLast() {
            slot = free
        } else {
            slot = sessionState.count
            sessionState.append(SessionState())
            sessionRecords.append(nil)
        }
        let handle = SessionHandle(slot: slot, serial: lastSessionSerial)
        sessionState[slot] = SessionState(serial: handle.serial, connectionID: connectionID, format: format)
        sessionRecords[slot] = SessionRecord(handle: handle, key: key, permissions: permissions)
        sessionsByKey[key] = handle
        sessionCount += 1
        return handle
    }

    private mutating func forgetSession(_ handle: SessionHandle) {
        guard let s = slot(of: handle) else { return }
        let key = sessionRecords[s]!.key
        sessionState[s] = SessionState()
        sessionRecords[s] = nil
        freeSessionSlots.append(s)
        sessionCount -= 1
        if sessionsByKey[key] == handle { sessionsByKey[key] = nil }
        if !pending.isEmpty { pending = pending.filter { $0.value != handle } }
    }

    /// Removes connection `id`'s record and returns it.
    private mutating func removeConnectionRecord(_ id: ConnectionID) -> Connection? {
        guard let c = connectionIndex.removeValue(forKey: id) else { return nil }
        let last = connectionTable.count - 1
        if c != last {
            connectionTable.swapAt(c, last)
            connectionIndex[connectionTable[c].id] = c
        }
        return connectionTable.removeLast()
    }

    @discardableResult
    private mutating func removeConnection(_ id: ConnectionID, parkingAt now: UInt64?) -> DisconnectOutcome {
        guard let connection = removeConnectionRecord(id) else { return .ignored }
        let handle = connection.session
        guard let s = slot(of: handle), sessionState[s].connectionID == id else { return .ignored }
        sessionState[s].connectionID = nil
        guard let now, configuration.replayBufferBytes > 0, !isClosed else {
            forgetSession(handle)
            return .forgotten
        }
        sessionRecords[s]!.replay = ReplayBuffer(capacityBytes: configuration.replayBufferBytes)
        sessionRecords[s]!.parkedAt = now
        return .parked(handle, evicted: evictParkedSessionsIfNeeded())
    }

    /// Keeps at most `maxParkedSessions` parked sessions, forgetting the longest parked first. Returns how many.
    private mutating func evictParkedSessionsIfNeeded() -> Int {
        let parked = sessionState.indices.compactMap { s in sessionState[s].isParked ? sessionRecords[s] : nil }
        guard parked.count > configuration.maxParkedSessions else { return 0 }
        let excess = parked.count - configuration.maxParkedSessions
        let oldest = parked.sorted { ($0.parkedAt, $0.handle.serial) < ($1.parkedAt, $1.handle.serial) }
        for record in oldest.prefix(excess) { forgetSession(record.handle) }
        return excess
    }
}
