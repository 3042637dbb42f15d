import Authorization
import HTTPServer
import JupyterProtocol
import KernelRuntime
import Testing
@testable import Gateway

// Drives `ChannelRouter` the way `ChannelHub` does, without sockets or a kernel: every channel rule of
// docs/operations.md and docs/authorization.md, asserted on the router's outcome values.

private typealias R = ChannelRouter

private let kernelID = "k1"
private let seconds: UInt64 = 1_000_000_000

/// A router plus the kernel's access record (owner alice), a policy and a clock, with the calls the hub makes.
private struct Driver {
    var router: ChannelRouter
    var access = KernelAccess(owner: "alice")
    var policy = Policy.default
    var now: UInt64 = 1_000 * seconds

    init(_ configuration: R.Configuration = R.Configuration(replayBufferBytes: 1 << 20)) {
        router = ChannelRouter(kernelID: kernelID, configuration: configuration)
    }

    /// Built-in roles by name: vic is a viewer, root an admin, everybody else a user.
    static func identity(_ user: String) -> Identity {
        Identity(username: user, roles: user == "vic" ? ["viewer"] : user == "root" ? ["admin"] : ["user"])
    }

    mutating func grant(_ grant: KernelAccess.Grant?, to user: String) {
        access.setGrant(grant, for: user)
    }

    @discardableResult
    mutating func connect(_ id: R.ConnectionID, _ user: String, session: String = "s1",
                          format: WebSocketSubprotocol = .legacy, tokenDigest: TokenDigest? = nil) -> R.ConnectOutcome {
        let identity = Self.identity(user)
        let access = self.access
        return router.connect(id, identity: identity, tokenDigest: tokenDigest, sessionID: session, format: format,
                              permissions: ChannelPermissionCache(policy: policy, identity: identity),
                              remoteAddress: "192.0.2.\(id)", generation: access.generation, access: { access })
    }

    mutating func receive(_ id: R.ConnectionID, _ msgType: String, msgID: String?, channel: JupyterProtocol.Channel = .shell,
                          escaped: Bool = false, bytes: Int = 100) -> R.InboundDecision {
        var name = msgType
        let access = self.access
        let now = self.now
        return name.withUTF8 { raw in
            router.receive(from: id, R.ClientMessage(channel: channel, msgType: UnsafeRawBufferPointer(raw),
                                                     msgTypeHasEscapes: escaped, msgID: msgID, byteCount: bytes),
                           generation: access.generation, access: { access }, now: now)
        }
    }

    /// `receive`, then `sendCompleted` with `result` when forwarded. Nil: forwarded and sent.
    mutating func request(_ id: R.ConnectionID, _ msgType: String = "execute_request", msgID: String?,
                          channel: JupyterProtocol.Channel = .shell, result: Kernel.SendResult = .sent,
                          sourceLocation: SourceLocation = #_sourceLocation) -> R.Rejection? {
        switch receive(id, msgType, msgID: msgID, channel: channel) {
        case .forward(let forward): return router.sendCompleted(forward, result: result)
        case .reject(let rejection): return rejection
        case .ignore:
            Issue.record("message from \(id) ignored", sourceLocation: sourceLocation)
            return nil
        }
    }

    mutating func reply(to parent: String?, channel: JupyterProtocol.Channel = .shell, isReply: Bool = true) -> R.ReplyRoute {
        router.kernelMessage(on: channel, parentMessageID: parent, isReply: isReply)
    }

    mutating func iopubReaders() -> [R.Recipient] {
        var readers: [R.Recipient] = [R.Recipient(id: 999, format: .v1)]  // emptied by the router
        let access = self.access
        router.iopubReaders(generation: access.generation, access: { access }, into: &readers)
        return readers
    }

    /// `collectIOPub` with the message `text`; returns the formats it asked to be encoded, in order.
    @discardableResult
    mutating func collect(_ text: String) -> [WebSocketSubprotocol] {
        var asked: [WebSocketSubprotocol] = []
        let access = self.access
        router.collectIOPub(generation: access.generation, access: { access }) { format in
            asked.append(format)
            return entry(text, format)
        }
        return asked
    }

    /// A whole iopub message: readers, then collection by parked sessions.
    mutating func iopub(_ text: String) -> [R.Recipient] {
        let readers = iopubReaders()
        collect(text)
        return readers
    }

    @discardableResult
    mutating func disconnect(_ id: R.ConnectionID, mayResume: Bool = true) -> R.DisconnectOutcome {
        now += seconds
        return router.disconnect(id, now: now, mayResume: mayResume)
    }

    mutating func accessChanged() -> [R.Closing] {
        let access = self.access
        return router.accessChanged(generation: access.generation, access: { access })
    }

    func session(_ user: String, _ session: String = "s1") -> R.Session? {
        router.session(username: user, sessionID: session)
    }

    func outstanding(_ user: String, _ session: String = "s1") -> Int? { self.session(user, session)?.outstanding }
}

/// A replay entry whose bytes are `text` and, for v1, a "v1:" prefix (so the stored format is visible).
private func entry(_ text: String, _ format: WebSocketSubprotocol = .legacy) -> ReplayBuffer.Entry {
    format == .v1 ? ReplayBuffer.Entry(kind: .binary, bytes: Array("v1:\(text)".utf8))
        : ReplayBuffer.Entry(kind: .text, bytes: Array(text.utf8))
}

private func texts(_ replay: R.Replay?) -> [String] {
    replay?.entries.map { String(decoding: $0.bytes, as: UTF8.self) } ?? []
}

extension ChannelRouter.ConnectOutcome {
    fileprivate var refusal: R.Closing? { if case .refused(let closing) = self { closing } else { nil } }
    fileprivate var isAccepted: Bool { if case .accepted = self { true } else { false } }
    fileprivate var replacing: R.Closing? { if case .accepted(let replacing, _) = self { replacing } else { nil } }
    fileprivate var replay: R.Replay? { if case .accepted(_, let replay) = self { replay } else { nil } }
}

extension ChannelRouter.InboundDecision {
    fileprivate var forward: R.Forward? { if case .forward(let forward) = self { forward } else { nil } }
    fileprivate var rejection: R.Rejection? { if case .reject(let rejection) = self { rejection } else { nil } }
    fileprivate var isIgnored: Bool { if case .ignore = self { true } else { false } }
}

private func deliver(_ id: R.ConnectionID, _ format: WebSocketSubprotocol = .legacy) -> R.ReplyRoute {
    .deliver(R.Recipient(id: id, format: format))
}

private func closing(_ id: R.ConnectionID, _ code: WebSocketCloseCode, _ reason: String) -> R.Closing {
    R.Closing(id: id, code: code, reason: reason)
}

// MARK: - Connections and sessions

@Suite struct ChannelRouterConnectionTests {
    @Test func readersConnectAndOthersAreRefusedWith1008() {
        var d = Driver()
        let owner = d.connect(1, "alice")
        #expect(owner.isAccepted && owner.replacing == nil && owner.replay == nil)
        #expect(d.connect(2, "bob").refusal == closing(2, .policyViolation, "no access to this kernel"))
        #expect(d.connect(3, "vic").refusal == closing(3, .policyViolation, "no access to this kernel"))
        #expect(d.router.connectionCount == 1 && d.router.connection(2) == nil)
        d.grant(.read, to: "bob")
        d.grant(.read, to: "vic")
        #expect(d.connect(4, "bob").isAccepted)
        #expect(d.connect(5, "vic").isAccepted)
        #expect(d.connect(6, "root").isAccepted)  // admins read every kernel
        #expect(d.router.connectionCount == 4)
        #expect(d.router.format(of: 4) == .legacy && d.router.format(of: 2) == nil)
    }

    @Test func connectionsKeepTheAuthenticatedIdentityAndAddress() throws {
        var d = Driver()
        d.connect(1, "alice", session: "S", format: .v1)
        let connection = try #require(d.router.connection(1))
        #expect(connection.identity == Driver.identity("alice"))
        #expect(connection.usernameLiteral == JSONStringLiteral("alice"))
        #expect(connection.sessionKey == SessionKey(username: "alice", sessionID: "S"))
        #expect(connection.format == .v1 && connection.remoteAddress == "192.0.2.1")
    }

    @Test func closeClosesEveryConnectionGoingAwayAndRefusesLaterConnects() {
        var d = Driver()
        d.connect(1, "alice")
        d.connect(2, "alice", session: "s2")
        #expect(d.request(1, msgID: "m1") == nil)
        let closings = d.router.close(reason: "kernel shut down")
        #expect(Set(closings) == [closing(1, .goingAway, "kernel shut down"), closing(2, .goingAway, "kernel shut down")])
        #expect(d.router.isClosed && d.router.connectionCount == 0 && d.router.pendingCount == 0)
        #expect(d.session("alice") == nil)
        #expect(d.connect(3, "alice").refusal == closing(3, .goingAway, "kernel shut down"))
        #expect(d.disconnect(1) == .ignored)
    }

    @Test func theSameUserAndSessionTakesOverAndGetsThePendingReplies() {
        var d = Driver()
        d.connect(1, "alice")
        #expect(d.request(1, msgID: "m1") == nil)
        let takeover = d.connect(2, "alice", format: .v1)
        #expect(takeover.replacing == closing(1, .normalClosure, "replaced by a newer connection for this session"))
        #expect(takeover.replay == nil)
        #expect(d.router.connection(1) == nil && d.router.connectionCount == 1)
        #expect(d.reply(to: "m1") == deliver(2, .v1))
        // The replaced connection's close arrives later and changes nothing.
        #expect(d.disconnect(1) == .ignored)
        #expect(d.session("alice")?.connectionID == 2)
    }

    @Test func anotherUserWithTheSameSessionIDGetsASessionOfTheirOwn() {
        var d = Driver()
        d.grant(.execute, to: "bob")
        d.connect(1, "alice", session: "shared")
        let bob = d.connect(2, "bob", session: "shared")
        #expect(bob.isAccepted && bob.replacing == nil)
        #expect(d.router.connectionCount == 2)
        #expect(d.request(1, msgID: "a1") == nil)
        #expect(d.request(2, msgID: "b1") == nil)
        #expect(d.reply(to: "a1") == deliver(1))
        #expect(d.reply(to: "b1") == deliver(2))
    }

    @Test func aSpoofedSessionCannotStealRepliesOrReplay() {
        var d = Driver()
        d.grant(.execute, to: "bob")
        d.connect(1, "alice", session: "S")
        #expect(d.request(1, msgID: "a1") == nil)
        d.connect(2, "bob", session: "S")
        // bob cannot claim alice's pending msg_id; the reply goes to alice whatever bob's headers said.
        #expect(d.request(2, msgID: "a1") == .messageIDInUse("a1"))
        #expect(d.reply(to: "a1", isReply: false) == deliver(1))
        // alice leaves: her session is parked; bob reconnecting with the same id does not resume it.
        _ = d.disconnect(1)
        let parked = d.session("alice", "S")?.handle
        #expect(parked != nil && d.reply(to: "a1") == .park(parked!, format: .legacy))
        d.disconnect(2)
        let again = d.connect(3, "bob", session: "S")
        #expect(again.isAccepted && again.replay == nil)
        #expect(d.session("alice", "S")?.isParked == true)
        #expect(d.session("bob", "S")?.connectionID == 3)
    }

    @Test func aRefusedReconnectForgetsTheParkedSession() {
        var d = Driver()
        d.grant(.read, to: "bob")
        d.connect(1, "bob")
        _ = d.disconnect(1)
        _ = d.iopub("while parked")
        d.grant(nil, to: "bob")
        #expect(d.connect(2, "bob").refusal?.code == .policyViolation)
        #expect(d.session("bob") == nil)
        d.grant(.read, to: "bob")
        let back = d.connect(3, "bob")
        #expect(back.isAccepted && back.replay == nil)
    }

    @Test func replayKeepsTheFormatItWasStoredIn() {
        var d = Driver()
        d.connect(1, "alice", format: .legacy)
        _ = d.disconnect(1)
        #expect(d.collect("out") == [.legacy])
        let back = d.connect(2, "alice", format: .v1)
        #expect(back.replay?.storedFormat == .legacy)
        #expect(texts(back.replay) == ["out"])
        // From now on the session is in the new connection's format.
        d.disconnect(2)
        #expect(d.collect("later") == [.v1])
        #expect(texts(d.connect(3, "alice", format: .legacy).replay) == ["v1:later"])
    }
}

// MARK: - Client → kernel

@Suite struct ChannelRouterInboundTests {
    @Test func anAllowedRequestIsForwardedWithTheAuthenticatedUsername() throws {
        var d = Driver()
        d.connect(1, "alice")
        let forward = try #require(d.receive(1, "execute_request", msgID: "m1").forward)
        #expect(forward.connection == 1 && forward.msgID == "m1" && forward.expectsReply)
        #expect(forward.username == JSONStringLiteral("alice"))
        #expect(forward.session == d.session("alice")?.handle)
        #expect(d.router.counters.inbound == [1, 0, 0, 0, 0])
        // Pending only once the kernel took it.
        #expect(d.router.pendingCount == 0 && d.outstanding("alice") == 0)
        #expect(d.router.sendCompleted(forward, result: .sent) == nil)
        #expect(d.router.pendingCount == 1 && d.outstanding("alice") == 1)
    }

    @Test func channelRulesDecidePerMessageForTheConnectionsUser() {
        var d = Driver()
        d.grant(.read, to: "vic")
        d.grant(.execute, to: "bob")
        d.connect(1, "vic")
        d.connect(2, "bob")
        // A message type needs the same level on every channel; read is for watching and harmless questions.
        let cases: [(R.ConnectionID, String, JupyterProtocol.Channel, Bool)] = [
            (1, "kernel_info_request", .shell, true),
            (1, "is_complete_request", .shell, true),
            (1, "complete_request", .shell, false),  // lists names and keys of the kernel's state
            (1, "inspect_request", .shell, false),  // shows values
            (1, "history_request", .shell, false),  // shows code typed in every session
            (1, "execute_request", .shell, false),
            (1, "comm_msg", .shell, false),
            (1, "kernel_info_request", .control, true),
            (1, "comm_info_request", .control, true),
            (1, "interrupt_request", .control, false),
            (1, "input_reply", .stdin, false),
            (1, "made_up_request", .shell, false),
            (2, "execute_request", .shell, true),
            (2, "comm_msg", .shell, true),
            (2, "shutdown_request", .control, true),
            (2, "shutdown_request", .shell, true),
            (2, "input_reply", .stdin, true),
            (2, "complete_request", .stdin, true),
        ]
        var n = 0
        for (id, type, channel, allowed) in cases {
            n += 1
            let decision = d.receive(id, type, msgID: "m\(n)", channel: channel)
            #expect((decision.forward != nil) == allowed, "\(type) on \(channel) from \(id)")
            if !allowed, case .denied(_, _, _, let required, let had, _)? = decision.rejection {
                #expect(required == .execute && had == .read)
            } else if !allowed {
                Issue.record("\(type) on \(channel): expected a denial, got \(String(describing: decision.rejection))")
            }
        }
        #expect(d.router.counters.denied == 8)
        #expect(d.router.counters.deniedByRequirement == ["execute": 8])
        #expect(d.router.counters.inbound == [11, 4, 3, 0, 0])
    }

    @Test func anOwnerOnlyRuleHoldsOnEveryChannel() throws {
        // The attack of issue 10: the policy names control/shutdown_request, the grantee sends it on shell
        // (ipykernel serves it there too).
        var d = Driver()
        d.policy = try Policy(fileContents: Array(#"{"version":1,"channel_rules":{"control/shutdown_request":"owner"}}"#.utf8))
        d.grant(.execute, to: "bob")
        d.connect(1, "bob")
        d.connect(2, "alice", session: "s2")
        for (n, channel) in [JupyterProtocol.Channel.shell, .control, .stdin].enumerated() {
            #expect(d.receive(1, "shutdown_request", msgID: "b\(n)", channel: channel).rejection
                == .denied(username: "bob", msgType: "shutdown_request", channel: channel, required: .owner,
                           had: .execute, kernelID: kernelID))
        }
        #expect(d.receive(1, "execute_request", msgID: "b9").forward != nil)
        #expect(d.receive(2, "shutdown_request", msgID: "a1", channel: .shell).forward != nil)
        #expect(d.router.counters.deniedByRequirement == ["owner": 3])
    }

    @Test func aDenialNamesUserTypeAndLevelsAndIsAudited() throws {
        var d = Driver()
        d.grant(.read, to: "vic")
        d.connect(1, "vic")
        let rejection = try #require(d.receive(1, "execute_request", msgID: "m1").rejection)
        #expect(rejection == .denied(username: "vic", msgType: "execute_request", channel: .shell, required: .execute,
                                     had: .read, kernelID: kernelID))
        #expect(rejection.ename == "PermissionDenied")
        #expect(rejection.evalue == "vic may not send execute_request on shell: it needs execute access to kernel k1, and you have read")
        #expect(rejection.idleAfter && rejection.answersRequestType)
        #expect(rejection.auditDecision == .denied(required: .execute, had: .read))
        #expect(d.router.pendingCount == 0)
    }

    @Test func readersMessagesAreBoundedInSize() throws {
        var d = Driver(R.Configuration(readerLimits: ReaderLimits(maxMessageBytes: 1000)))
        d.grant(.read, to: "vic")
        d.grant(.execute, to: "bob")
        d.connect(1, "vic")
        d.connect(2, "bob", session: "s2")
        #expect(d.receive(1, "kernel_info_request", msgID: "m1", bytes: 1000).forward != nil)
        let rejection = try #require(d.receive(1, "kernel_info_request", msgID: "m2", bytes: 1001).rejection)
        #expect(rejection == .readerMessageTooLarge(limit: 1000))
        #expect(rejection.ename == "MessageTooLarge")
        #expect(rejection.evalue == "messages from users with read access are limited to 1000 bytes")
        #expect(rejection.idleAfter && rejection.answersRequestType && rejection.auditDecision == nil)
        // Users who may execute are not limited: they can occupy the kernel with code anyway.
        #expect(d.receive(2, "kernel_info_request", msgID: "b1", bytes: 1 << 20).forward != nil)
        #expect(d.router.counters.readerLimited == 1)
    }

    @Test func readersAreRateLimitedPerUserWithABurst() throws {
        var d = Driver(R.Configuration(readerLimits: ReaderLimits(messagesPerSecond: 10, burst: 5)))
        d.grant(.read, to: "vic")
        d.connect(1, "vic")
        d.connect(2, "vic", session: "s2")
        d.connect(3, "alice", session: "s3")
        var forwarded = 0
        for i in 0..<50 where d.receive(1, "is_complete_request", msgID: "v\(i)").forward != nil { forwarded += 1 }
        #expect(forwarded == 5)
        let rejection = try #require(d.receive(1, "is_complete_request", msgID: "late").rejection)
        #expect(rejection == .readerRateLimited(perSecond: 10, burst: 5))
        #expect(rejection.ename == "RateLimited")
        // Per user on the kernel: the same user's other connection (or a reconnect) shares the budget; denied
        // messages count too (each would otherwise cost an audit line and two replies); the owner has none.
        #expect(d.receive(2, "is_complete_request", msgID: "w1").rejection == .readerRateLimited(perSecond: 10, burst: 5))
        #expect(d.receive(2, "execute_request", msgID: "w2").rejection == .readerRateLimited(perSecond: 10, burst: 5))
        d.router.disconnect(1, now: d.now)  // at the same instant: the driver's disconnect also advances the clock
        d.connect(4, "vic", session: "s1")
        #expect(d.receive(4, "is_complete_request", msgID: "w3").rejection != nil)
        for i in 0..<50 { #expect(d.receive(3, "is_complete_request", msgID: "a\(i)").forward != nil) }
        // The sustained rate: one more message per 100 ms.
        d.now += 100_000_000
        #expect(d.receive(4, "is_complete_request", msgID: "v-next").forward != nil)
        #expect(d.receive(4, "is_complete_request", msgID: "v-next2").rejection != nil)
        d.now += 10 * seconds
        forwarded = 0
        for i in 0..<50 where d.receive(4, "is_complete_request", msgID: "x\(i)").forward != nil { forwarded += 1 }
        #expect(forwarded == 5)
    }

    @Test func aReaderLimitAppliesToTheLevelNowNotAtConnect() {
        var d = Driver(R.Configuration(readerLimits: ReaderLimits(maxMessageBytes: 100)))
        d.grant(.execute, to: "bob")
        d.connect(1, "bob")
        #expect(d.receive(1, "kernel_info_request", msgID: "m1", bytes: 500).forward != nil)
        d.grant(.read, to: "bob")
        #expect(d.receive(1, "kernel_info_request", msgID: "m2", bytes: 500).rejection == .readerMessageTooLarge(limit: 100))
    }

    @Test func grantChangesApplyOnTheNextMessage() {
        var d = Driver()
        d.grant(.read, to: "bob")
        d.connect(1, "bob")
        #expect(d.receive(1, "execute_request", msgID: "m1").rejection?.ename == "PermissionDenied")
        d.grant(.execute, to: "bob")
        #expect(d.receive(1, "execute_request", msgID: "m2").forward != nil)
        d.grant(.read, to: "bob")
        #expect(d.receive(1, "execute_request", msgID: "m3").rejection?.ename == "PermissionDenied")
    }

    @Test func clientsCannotSendOnIopubOrHb() {
        var d = Driver()
        d.connect(1, "alice")
        let iopub = d.receive(1, "execute_request", msgID: "m1", channel: .iopub).rejection
        #expect(iopub == .clientChannel(.iopub))
        #expect(iopub?.evalue == "clients cannot send on the iopub channel" && iopub?.ename == "ProtocolError")
        #expect(d.receive(1, "ping", msgID: "m2", channel: .hb).rejection?.evalue == "clients cannot send on the hb channel")
        #expect(d.router.counters.malformed == 2 && d.router.counters.inbound == [0, 0, 0, 0, 0])
    }

    @Test func msgIDMustBeANonEmptyStringOfAtMost256Bytes() {
        var d = Driver()
        d.connect(1, "alice")
        let invalid = R.Rejection.invalidMessageID(maxBytes: 256)
        #expect(invalid.evalue == "header.msg_id must be a non-empty string of at most 256 bytes")
        #expect(d.receive(1, "execute_request", msgID: nil).rejection == invalid)
        #expect(d.receive(1, "execute_request", msgID: "").rejection == invalid)
        #expect(d.receive(1, "execute_request", msgID: String(repeating: "x", count: 257)).rejection == invalid)
        #expect(d.receive(1, "execute_request", msgID: String(repeating: "é", count: 129)).rejection == invalid)
        #expect(d.receive(1, "execute_request", msgID: String(repeating: "x", count: 256)).forward != nil)
        #expect(d.router.counters.malformed == 4)
        // The permission check comes first: a denied message is reported as denied whatever its msg_id.
        d.grant(.read, to: "vic")
        d.connect(2, "vic")
        #expect(d.receive(2, "execute_request", msgID: nil).rejection?.ename == "PermissionDenied")
    }

    @Test func aMsgIDPendingForAnotherSessionIsRefused() {
        var d = Driver()
        d.grant(.execute, to: "bob")
        d.connect(1, "alice")
        d.connect(2, "bob")
        d.connect(3, "alice", session: "s2")
        #expect(d.request(1, msgID: "m1") == nil)
        let inUse = R.Rejection.messageIDInUse("m1")
        #expect(d.request(2, msgID: "m1") == inUse)
        #expect(d.request(3, msgID: "m1") == inUse)  // the same user in another session too
        #expect(d.request(2, "comm_msg", msgID: "m1") == inUse)  // whatever the type
        #expect(inUse.evalue == "msg_id m1 is already in use by another session; use a fresh id per request")
        #expect(d.router.counters.malformed == 0)
        #expect(d.reply(to: "m1") == deliver(1))
        #expect(d.request(2, msgID: "m1") == nil)
        #expect(d.reply(to: "m1") == deliver(2))
    }

    @Test func theSameSessionMayReuseAPendingMsgIDWithoutCountingItTwice() {
        var d = Driver()
        d.connect(1, "alice")
        #expect(d.request(1, msgID: "m1") == nil)
        #expect(d.request(1, msgID: "m1") == nil)
        #expect(d.router.pendingCount == 1 && d.outstanding("alice") == 1)
        #expect(d.reply(to: "m1") == deliver(1))
        #expect(d.outstanding("alice") == 0)
    }

    @Test func requestsWaitingForRepliesAreBoundedPerSession() {
        var d = Driver(R.Configuration(replayBufferBytes: 1 << 20, maxOutstandingPerSession: 2))
        d.connect(1, "alice")
        #expect(d.request(1, msgID: "m1") == nil)
        #expect(d.request(1, msgID: "m2") == nil)
        let tooMany = R.Rejection.tooManyRequests(limit: 2)
        #expect(d.request(1, msgID: "m3") == tooMany)
        #expect(tooMany.ename == "TooManyRequests" && tooMany.evalue == "more than 2 requests are waiting for replies")
        #expect(!tooMany.idleAfter)
        // Messages that are not requests are not bounded; a non-final message does not free a slot.
        #expect(d.request(1, "comm_msg", msgID: "c1") == nil)
        #expect(d.reply(to: "m1", channel: .stdin, isReply: false) == deliver(1))
        #expect(d.request(1, msgID: "m3") == tooMany)
        // Another session of the same user has its own bound.
        d.connect(2, "alice", session: "s2")
        #expect(d.request(2, msgID: "x1") == nil)
        // The final reply frees one.
        #expect(d.reply(to: "m1") == deliver(1))
        #expect(d.request(1, msgID: "m3") == nil)
        // Reconnecting does not reset the bound.
        _ = d.disconnect(1)
        d.connect(3, "alice")
        #expect(d.outstanding("alice") == 2)
        #expect(d.request(3, msgID: "m4") == tooMany)
    }

    @Test func onlyUnescapedRequestTypesExpectReplies() {
        func expects(_ type: String, escaped: Bool = false) -> Bool {
            var name = type
            return name.withUTF8 {
                R.ClientMessage(channel: .shell, msgType: UnsafeRawBufferPointer($0), msgTypeHasEscapes: escaped,
                                msgID: "m").expectsReply
            }
        }
        #expect(expects("execute_request") && expects("_request"))
        #expect(!expects("execute_request", escaped: true))
        #expect(!expects("comm_msg") && !expects("request") && !expects("input_reply") && !expects(""))

        var d = Driver()
        d.connect(1, "alice")
        guard let forward = d.receive(1, "execute_request", msgID: "m1", escaped: true).forward else {
            Issue.record("an escaped execute_request from the owner was not forwarded")
            return
        }
        #expect(!forward.expectsReply)
        #expect(d.router.sendCompleted(forward, result: .sent) == nil)
        #expect(d.router.pendingCount == 0)
    }

    @Test func aFullKernelQueueOrAStoppedKernelIsAnsweredAndNothingIsPending() {
        var d = Driver()
        d.connect(1, "alice")
        let busy = d.request(1, msgID: "m1", result: .queueFull)
        #expect(busy == .kernelBusy)
        #expect(busy?.ename == "KernelBusy" && busy?.evalue == "the kernel is not reading its messages; try again later")
        #expect(busy?.idleAfter == true && busy?.answersRequestType == true)
        #expect(d.router.counters.queueFull == 1)
        let stopped = d.request(1, msgID: "m2", result: .notRunning)
        #expect(stopped == .kernelNotRunning(kernelID: kernelID))
        #expect(stopped?.ename == "KernelNotRunning" && stopped?.evalue == "kernel k1 is not running")
        #expect(d.router.counters.queueFull == 1)
        #expect(d.router.pendingCount == 0 && d.outstanding("alice") == 0)
        #expect(d.reply(to: "m1") == .drop && d.reply(to: "m2") == .drop)
        #expect(d.router.counters.unroutable == 2)
    }

    @Test func malformedMessagesAreCountedAndAnswered() {
        var d = Driver()
        d.connect(1, "alice")
        let undecodable = d.router.receiveMalformed(from: 1, .undecodable("truncated header")).rejection
        #expect(undecodable == .undecodable(detail: "truncated header"))
        #expect(undecodable?.evalue == "the gateway could not decode this message: truncated header")
        let missing = d.router.receiveMalformed(from: 1, .missingTypeOrID).rejection
        #expect(missing?.evalue == "header.msg_type and header.msg_id are required" && missing?.ename == "ProtocolError")
        #expect(undecodable?.answersRequestType == false && missing?.answersRequestType == false)
        #expect(d.router.counters.malformed == 2)
        #expect(d.router.receiveMalformed(from: 9, .missingTypeOrID).isIgnored)
        #expect(d.router.counters.malformed == 2)
    }

    @Test func messagesFromUnknownConnectionsAreIgnored() {
        var d = Driver()
        #expect(d.receive(7, "execute_request", msgID: "m1").isIgnored)
        d.connect(1, "alice")
        _ = d.disconnect(1)
        #expect(d.receive(1, "execute_request", msgID: "m1").isIgnored)
        #expect(d.router.counters == R.Counters())
    }

    @Test func rejectionsDescribeTheirReplies() {
        let all: [R.Rejection] = [
            .undecodable(detail: "x"), .missingTypeOrID, .clientChannel(.iopub),
            .denied(username: "u", msgType: "t", channel: .control, required: .owner, had: .execute, kernelID: "k"),
            .invalidMessageID(maxBytes: 256), .messageIDInUse("m"), .tooManyRequests(limit: 1),
            .rewriteFailed(detail: "y"), .kernelBusy, .kernelNotRunning(kernelID: "k"),
        ]
        #expect(all.map(\.ename) == ["ProtocolError", "ProtocolError", "ProtocolError", "PermissionDenied",
                                      "ProtocolError", "ProtocolError", "TooManyRequests", "ProtocolError",
                                      "KernelBusy", "KernelNotRunning"])
        #expect(all.map(\.idleAfter) == [false, false, false, true, false, false, false, false, true, true])
        #expect(all.map(\.answersRequestType) == [false, false, true, true, true, true, true, false, true, true])
        #expect(all.compactMap(\.auditDecision) == [.denied(required: .owner, had: .execute)])
        #expect(all[3].evalue == "u may not send t on control: it needs owner access to kernel k, and you have execute")
        #expect(all[7].evalue == "cannot rewrite the header: y")
    }
}

// MARK: - Kernel → clients: replies

@Suite struct ChannelRouterReplyTests {
    @Test func repliesGoOnlyToTheSessionWhoseRequestTheyAnswer() {
        var d = Driver()
        d.grant(.execute, to: "bob")
        d.connect(1, "alice")
        d.connect(2, "bob", format: .v1)
        #expect(d.request(1, msgID: "a1") == nil)
        #expect(d.request(2, msgID: "b1") == nil)
        #expect(d.reply(to: "b1") == deliver(2, .v1))
        #expect(d.reply(to: "a1") == deliver(1))
        #expect(d.router.counters.outbound == [2, 0, 0, 0, 0])
        // Answered: a second reply has nobody to go to.
        #expect(d.reply(to: "a1") == .drop)
        #expect(d.reply(to: "never-sent") == .drop)
        #expect(d.reply(to: nil) == .drop)
        #expect(d.router.counters.unroutable == 3 && d.router.counters.outbound == [2, 0, 0, 0, 0])
    }

    @Test func messagesBeforeTheFinalReplyFollowTheRequest() {
        var d = Driver()
        d.connect(1, "alice")
        #expect(d.request(1, msgID: "m1") == nil)
        #expect(d.reply(to: "m1", channel: .stdin, isReply: false) == deliver(1))  // input_request
        #expect(d.reply(to: "m1", channel: .shell, isReply: false) == deliver(1))  // comm_msg from the kernel
        #expect(d.router.pendingCount == 1 && d.outstanding("alice") == 1)
        #expect(d.reply(to: "m1") == deliver(1))
        #expect(d.router.pendingCount == 0 && d.outstanding("alice") == 0)
        #expect(d.request(1, "interrupt_request", msgID: "c1", channel: .control) == nil)
        #expect(d.reply(to: "c1", channel: .control) == deliver(1))
        #expect(d.router.counters.outbound == [2, 1, 1, 0, 0])
    }

    @Test func aReplyToAParkedSessionIsKeptForItsReplay() throws {
        var d = Driver()
        d.connect(1, "alice")
        #expect(d.request(1, msgID: "m1") == nil)
        guard case .parked(let handle, evicted: 0) = d.disconnect(1) else {
            Issue.record("not parked")
            return
        }
        #expect(d.reply(to: "m1") == .park(handle, format: .legacy))
        d.router.keep(entry("reply m1"), for: handle)
        #expect(d.router.pendingCount == 0 && d.outstanding("alice") == 0)
        let back = d.connect(2, "alice")
        #expect(texts(back.replay) == ["reply m1"] && back.replay?.dropped == 0)
        #expect(d.router.counters.replayed == 1)
        // Kept only for parked sessions.
        d.router.keep(entry("late"), for: handle)
        d.router.keep(entry("late"), for: R.SessionHandle(slot: 99, serial: 99))
        d.disconnect(2)
        #expect(texts(d.connect(3, "alice").replay) == [])
    }

    @Test func aForgottenSessionsHandleDoesNotReachTheSessionInItsSlot() throws {
        var d = Driver()
        d.connect(1, "alice", session: "old")
        _ = d.disconnect(1)
        let old = try #require(d.session("alice", "old")?.handle)
        #expect(d.router.sweep(now: d.now + 601 * seconds) == false)
        d.connect(2, "alice", session: "new")
        d.disconnect(2)
        let new = try #require(d.session("alice", "new")?.handle)
        #expect(new.slot == old.slot && new != old)
        d.router.keep(entry("for the old one"), for: old)
        #expect(d.router.replayBufferedBytes == 0)
        #expect(d.connect(3, "alice", session: "new").replay == nil)
    }

    @Test func aReplyForAForgottenSessionGoesNowhere() {
        var d = Driver(R.Configuration(replayBufferBytes: 0))  // replay off: closed sessions are forgotten
        d.connect(1, "alice")
        #expect(d.request(1, msgID: "m1") == nil)
        #expect(d.disconnect(1) == .forgotten)
        #expect(d.router.pendingCount == 0)
        #expect(d.reply(to: "m1") == .drop && d.router.counters.unroutable == 1)
    }

    @Test func aSlowClientsSessionIsParkedAndKeepsTheReplyItCouldNotTake() {
        var d = Driver()
        d.connect(1, "alice")
        #expect(d.request(1, msgID: "m1") == nil)
        #expect(d.reply(to: "m1") == deliver(1))
        let outcome = d.router.deliveryFailed(1, now: d.now, undelivered: .reply(entry("reply m1")))
        #expect(outcome == .parked(d.session("alice")!.handle, evicted: 0))
        #expect(d.router.connection(1) == nil && d.router.connectionCount == 0)
        let back = d.connect(2, "alice")
        #expect(texts(back.replay) == ["reply m1"] && back.replay?.dropped == 0)
    }
}

// MARK: - Kernel → clients: iopub

@Suite struct ChannelRouterIOPubTests {
    @Test func iopubGoesToEveryConnectionThatMayReadAndNoOther() {
        var d = Driver()
        d.grant(.read, to: "vic")
        d.grant(.read, to: "bob")
        d.connect(1, "alice")
        d.connect(2, "vic", format: .v1)
        d.connect(3, "bob")
        d.grant(nil, to: "bob")  // revoked; the connection is not closed yet
        #expect(Set(d.iopubReaders()) == [R.Recipient(id: 1, format: .legacy), R.Recipient(id: 2, format: .v1)])
        #expect(d.router.counters.outbound == [0, 0, 0, 1, 0])
        d.grant(.read, to: "bob")
        #expect(d.iopubReaders().count == 3)
    }

    @Test func parkedSessionsCollectIopubEncodedOncePerFormat() {
        var d = Driver()
        d.connect(1, "alice", session: "a", format: .legacy)
        d.connect(2, "alice", session: "b", format: .v1)
        d.connect(3, "alice", session: "c", format: .legacy)
        d.connect(4, "alice", session: "d", format: .v1)
        #expect(d.collect("nobody parked").isEmpty)
        _ = d.disconnect(1)
        d.disconnect(2)
        d.disconnect(3)
        let asked = d.collect("out")
        #expect(asked.count == 2 && Set(asked) == [.legacy, .v1])
        #expect(d.iopubReaders() == [R.Recipient(id: 4, format: .v1)])
        #expect(texts(d.connect(5, "alice", session: "a").replay) == ["out"])
        #expect(texts(d.connect(6, "alice", session: "b", format: .v1).replay) == ["v1:out"])
        #expect(texts(d.connect(7, "alice", session: "c").replay) == ["out"])
    }

    @Test func aParkedSessionWhoseUserLostReadIsForgotten() {
        var d = Driver()
        d.grant(.read, to: "bob")
        d.connect(1, "bob")
        _ = d.disconnect(1)
        _ = d.iopub("before")
        d.grant(nil, to: "bob")
        _ = d.iopub("secret")
        #expect(d.session("bob") == nil)
        d.grant(.read, to: "bob")
        let back = d.connect(2, "bob")
        #expect(back.isAccepted && back.replay == nil)
    }

    @Test func aSlowIopubClientIsParkedAndToldOfTheLoss() {
        var d = Driver()
        d.connect(1, "alice")
        d.connect(2, "alice", session: "other")
        #expect(d.iopubReaders().count == 2)
        // The send to connection 1 failed: it was closed for being too slow.
        #expect(d.router.deliveryFailed(1, now: d.now, undelivered: .iopub) == .parked(d.session("alice")!.handle, evicted: 0))
        // The same message then reaches the just-parked session, as every parked one.
        #expect(d.collect("m") == [.legacy])
        let back = d.connect(3, "alice")
        #expect(back.replay?.dropped == 1 && texts(back.replay) == ["m"])
        #expect(d.router.counters.replayDropped == 1 && d.router.counters.replayed == 1)
        #expect(d.router.deliveryFailed(42, now: d.now, undelivered: .iopub) == .ignored)
    }

    @Test func aFullReplayBufferDropsTheOldestAndCountsThem() {
        var d = Driver(R.Configuration(replayBufferBytes: 10))
        d.connect(1, "alice")
        _ = d.disconnect(1)
        for text in ["aaaa", "bbbb", "cccc", "dddd"] { d.collect(text) }
        #expect(d.router.replayBufferedBytes == 8)
        let back = d.connect(2, "alice")
        #expect(back.replay?.dropped == 2 && texts(back.replay) == ["cccc", "dddd"])
        #expect(d.router.counters.replayDropped == 2 && d.router.counters.replayed == 2)
        #expect(d.router.replayBufferedBytes == 0)
    }
}

// MARK: - Parking, eviction, sweep

@Suite struct ChannelRouterParkingTests {
    @Test func aClosedSessionIsParkedOnlyWhenReplayIsOnAndItMayResume() {
        var d = Driver()
        d.connect(1, "alice")
        #expect(d.request(1, msgID: "m1") == nil)
        guard case .parked = d.disconnect(1) else {
            Issue.record("not parked")
            return
        }
        #expect(d.session("alice")?.isParked == true && d.router.parkedSessionCount == 1)
        #expect(d.router.pendingCount == 1)  // the reply will be kept for it
        d.connect(2, "alice")
        #expect(d.disconnect(2, mayResume: false) == .forgotten)
        #expect(d.session("alice") == nil && d.router.pendingCount == 0)

        var off = Driver(R.Configuration(replayBufferBytes: 0))
        off.connect(1, "alice")
        #expect(off.disconnect(1) == .forgotten)
        #expect(off.router.parkedSessionCount == 0)
        #expect(off.disconnect(1) == .ignored)
    }

    @Test func parkedSessionsBeyondTheBoundAreForgottenOldestFirst() {
        var d = Driver(R.Configuration(replayBufferBytes: 1 << 20, maxParkedSessions: 2))
        for (id, session) in [(1, "s1"), (2, "s2"), (3, "s3")] as [(R.ConnectionID, String)] {
            d.connect(id, "alice", session: session)
            #expect(d.request(id, msgID: "m-\(session)") == nil)
        }
        d.disconnect(2)  // parked first
        _ = d.disconnect(1)
        guard case .parked(_, evicted: 1) = d.disconnect(3) else {
            Issue.record("expected one eviction")
            return
        }
        #expect(d.session("alice", "s2") == nil)
        #expect(d.session("alice", "s1")?.isParked == true && d.session("alice", "s3")?.isParked == true)
        #expect(d.reply(to: "m-s2") == .drop && d.router.counters.unroutable == 1)
        #expect(d.connect(4, "alice", session: "s2").replay == nil)
    }

    @Test func theSweepForgetsParkedSessionsOlderThanTheTTL() {
        var d = Driver(R.Configuration(replayBufferBytes: 1 << 20, parkedSessionTTL: 10 * seconds))
        #expect(d.router.sweep(now: d.now) == false)
        d.connect(1, "alice", session: "parked")
        d.connect(2, "alice", session: "connected")
        _ = d.disconnect(1)
        let parkedAt = d.now
        #expect(d.router.sweep(now: parkedAt + 10 * seconds) == true)
        #expect(d.session("alice", "parked") != nil)
        #expect(d.router.sweep(now: parkedAt + 10 * seconds + 1) == true)  // the connected session remains
        #expect(d.session("alice", "parked") == nil)
        #expect(d.session("alice", "connected")?.connectionID == 2)
        d.disconnect(2, mayResume: false)
        #expect(d.router.sweep(now: d.now) == false)
    }
}

// MARK: - Kernel state, access changes

@Suite struct ChannelRouterKernelStateTests {
    @Test func aRestartForgetsPendingRequestsAndIsAnnouncedToEverybody() {
        var d = Driver(R.Configuration(replayBufferBytes: 1 << 20, maxOutstandingPerSession: 1))
        d.grant(.execute, to: "bob")
        d.connect(1, "alice")
        d.connect(2, "bob", format: .v1)
        #expect(d.request(1, msgID: "a1") == nil)
        #expect(d.request(2, msgID: "b1") == nil)
        d.disconnect(2)
        var asked: [WebSocketSubprotocol] = []
        let recipients = d.router.kernelStateChanged(.restarting) { format in
            asked.append(format)
            return entry("restarting", format)
        }
        #expect(recipients == [R.Recipient(id: 1, format: .legacy)])
        #expect(asked == [.v1])  // only the parked session's format; the owner encodes for connections itself
        #expect(d.router.counters.restartsAnnounced == 1)
        #expect(d.router.pendingCount == 0 && d.outstanding("alice") == 0 && d.outstanding("bob") == 0)
        #expect(d.reply(to: "a1") == .drop)
        #expect(d.request(1, msgID: "a2") == nil)  // the bound is free again
        #expect(texts(d.connect(3, "bob", format: .v1).replay) == ["v1:restarting"])
    }

    @Test func deathIsAnnouncedButNotCountedAsARestart() {
        var d = Driver()
        d.connect(1, "alice")
        #expect(d.router.kernelStateChanged(.dead) { entry("dead", $0) } == [R.Recipient(id: 1, format: .legacy)])
        #expect(d.router.counters.restartsAnnounced == 0)
    }

    @Test func idleBusyAndStartingAreNotAnnounced() {
        var d = Driver()
        d.connect(1, "alice")
        #expect(d.request(1, msgID: "m1") == nil)
        _ = d.disconnect(1)
        for state in [KernelLifecycle.ExecutionState.idle, .busy, .starting] {
            var called = false
            let recipients = d.router.kernelStateChanged(state) { format in
                called = true
                return entry("x", format)
            }
            #expect(recipients.isEmpty && !called)
        }
        #expect(d.router.pendingCount == 1 && d.router.counters.restartsAnnounced == 0)
        #expect(d.connect(2, "alice").replay == nil)
    }
}

@Suite struct ChannelRouterAccessTests {
    @Test func aRevokeClosesTheUsersConnectionsWith1008AndForgetsTheirParkedSessions() {
        var d = Driver()
        d.grant(.read, to: "bob")
        d.grant(.execute, to: "carol")
        d.connect(1, "alice")
        d.connect(2, "bob")
        d.connect(3, "carol")
        #expect(d.request(3, msgID: "c1") == nil)
        d.connect(4, "bob", session: "parked")
        d.disconnect(4)
        #expect(d.accessChanged().isEmpty)  // nothing changed yet
        d.grant(nil, to: "bob")
        d.grant(nil, to: "carol")
        let closings = d.accessChanged()
        let revoked = "access to this kernel was revoked"
        #expect(Set(closings) == [closing(2, .policyViolation, revoked), closing(3, .policyViolation, revoked)])
        #expect(d.router.connectionCount == 1 && d.router.connection(1) != nil)
        // Not parked: their sessions, buffers and pending requests are gone.
        #expect(d.session("bob") == nil && d.session("carol") == nil && d.session("bob", "parked") == nil)
        #expect(d.reply(to: "c1") == .drop)
        d.grant(.read, to: "bob")
        #expect(d.connect(5, "bob", session: "parked").replay == nil)
    }

    @Test func aRevokedConnectionIsNotParkedSoItCannotEvictAnotherSession() {
        var d = Driver(R.Configuration(replayBufferBytes: 1 << 20, maxParkedSessions: 1))
        d.grant(.read, to: "bob")
        d.connect(1, "alice")
        _ = d.disconnect(1)
        d.connect(2, "bob")
        d.grant(nil, to: "bob")
        #expect(d.accessChanged().map(\.id) == [2])
        #expect(d.session("alice")?.isParked == true && d.router.parkedSessionCount == 1)
        #expect(d.session("bob") == nil)
    }

    @Test func reauthorizeDisconnectsRemovedUsersAndAppliesCurrentRoles() {
        var d = Driver()
        d.grant(.execute, to: "bob")
        d.grant(.execute, to: "erin")
        d.grant(.execute, to: "dave")
        d.connect(1, "alice")
        d.connect(2, "bob")
        d.connect(3, "erin")
        d.connect(4, "dave")
        d.disconnect(4)
        let access = d.access
        let closings = d.router.reauthorize(policy: d.policy, standing: { name, _ in
            switch name {
            case "bob", "dave": .userRemoved
            case "erin": .current(Identity(username: "erin", roles: ["viewer"]))
            default: .current(Driver.identity(name))
            }
        }, generation: access.generation, access: { access })
        #expect(closings == [closing(2, .policyViolation, "user bob was removed")])
        #expect(d.session("bob") == nil && d.session("dave") == nil)
        // erin is a viewer now: capped at read on a kernel she may execute on.
        #expect(d.router.connection(3)?.identity.roles == ["viewer"])
        #expect(d.receive(3, "execute_request", msgID: "e1").rejection?.ename == "PermissionDenied")
        #expect(d.receive(3, "kernel_info_request", msgID: "e2").forward != nil)
        #expect(d.receive(1, "execute_request", msgID: "a1").forward != nil)
    }

    @Test func reauthorizeAppliesTheReloadedChannelRules() {
        var d = Driver()
        d.grant(.execute, to: "bob")
        d.connect(1, "bob")
        d.connect(2, "bob", session: "parked")
        d.disconnect(2)
        #expect(d.receive(1, "shutdown_request", msgID: "m1", channel: .control).forward != nil)
        var rules = ChannelRuleTable.defaults
        rules.tighten(msgType: "shutdown_request", to: .owner)
        let stricter = Policy(channelRules: rules)
        let access = d.access
        #expect(d.router.reauthorize(policy: stricter, standing: { name, _ in .current(Driver.identity(name)) },
                                     generation: access.generation, access: { access }).isEmpty)
        #expect(d.receive(1, "shutdown_request", msgID: "m2", channel: .control).rejection
            == .denied(username: "bob", msgType: "shutdown_request", channel: .control, required: .owner, had: .execute,
                       kernelID: kernelID))
        #expect(d.receive(1, "shutdown_request", msgID: "m3", channel: .shell).rejection?.ename == "PermissionDenied")
        #expect(d.session("bob", "parked")?.permissions.rules.requiredLevel(msgType: "shutdown_request") == .owner)
    }

    /// Issue 10, finding 7: each connection keeps the digest of the token that opened it; a reload whose users
    /// file no longer accepts that token closes exactly those connections (1008, naming the token) and forgets
    /// their sessions, whatever other connections the same user has.
    @Test func reauthorizeClosesConnectionsOfRotatedTokens() throws {
        var store = UserStore()
        let carolOld = TokenDigest(hashing: try store.upsertUser(username: "carol", roles: ["user"]))
        let bob = TokenDigest(hashing: try store.upsertUser(username: "bob", roles: ["user"]))
        var d = Driver()
        d.grant(.execute, to: "carol")
        d.grant(.execute, to: "bob")
        d.connect(1, "carol", session: "stolen", tokenDigest: carolOld)
        d.connect(2, "bob", tokenDigest: bob)
        d.connect(3, "alice")  // opened without authentication: nothing to compare
        #expect(d.router.connection(1)?.tokenDigest == carolOld)
        let carolNew = TokenDigest(hashing: try store.rotateToken(for: "carol"))
        d.connect(4, "carol", session: "renewed", tokenDigest: carolNew)
        #expect(d.request(1, msgID: "before") == nil)
        let access = d.access
        let closings = d.router.reauthorize(policy: d.policy, standing: { name, digest in
            name == "alice" ? .current(Driver.identity(name)) : store.standing(of: name, tokenDigest: digest)
        }, generation: access.generation, access: { access })
        #expect(closings == [closing(1, .policyViolation, "the token of user carol was rotated or revoked")])
        #expect(d.session("carol", "stolen") == nil, "forgotten, not parked for a reconnect")
        #expect(d.reply(to: "before") == .drop)
        #expect(d.receive(1, "execute_request", msgID: "after").isIgnored)
        for id: R.ConnectionID in [2, 3, 4] { #expect(d.request(id, msgID: "ok\(id)") == nil) }
        #expect(d.router.connectionCount == 3)
        // The same closings refuse an upgrade that a reload overtook (the hub checks before `connect`).
        #expect(R.closing(9, of: "carol", after: store.standing(of: "carol", tokenDigest: carolOld))
            == closing(9, .policyViolation, "the token of user carol was rotated or revoked"))
        #expect(R.closing(9, of: "carol", after: store.standing(of: "carol", tokenDigest: carolNew)) == nil)
        store.removeUser("carol")
        #expect(R.closing(9, of: "carol", after: store.standing(of: "carol", tokenDigest: carolNew))
            == closing(9, .policyViolation, "user carol was removed"))
    }
}
