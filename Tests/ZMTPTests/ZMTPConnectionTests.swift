import Testing
@testable import ZMTP

/// What a libzmq peer of `type` sends: greeting and READY.
func peerHandshake(_ type: String, minor: UInt8 = 1, extra: [ZMTPCommand.Property] = []) -> [UInt8] {
    var greeting = ZMTPGreeting.encoded
    greeting[8] = 1
    greeting[11] = minor
    greeting[32] = 1
    return greeting + ZMTPCommand.ready([.init("Socket-Type", Array(type.utf8))] + extra).encoded
}

/// A connection after `connected` with the peer's handshake fed; returns the actions of the feed.
func handshaken(_ type: ZMTPSocketType, peer: String, identity: [UInt8] = []) -> (ZMTPConnection, [ZMTPConnection.Action]) {
    var c = ZMTPConnection(socketType: type, identity: identity)
    _ = c.handle(.connected)
    let actions = c.handle(.received(peerHandshake(peer)))
    return (c, actions)
}

func failure(_ actions: [ZMTPConnection.Action]) -> ZMTPProtocolError? {
    for case .fail(let e) in actions { return e }
    return nil
}

@Suite struct ZMTPConnectionTests {
    @Test func dealerHandshakeSendsGreetingThenReadyWithIdentity() {
        var c = ZMTPConnection(socketType: .dealer, identity: Array("gw".utf8))
        #expect(c.phase == .idle)
        #expect(c.handle(.connected) == [.send(ZMTPGreeting.encoded)])
        #expect(c.handle(.connected) == [])
        #expect(c.phase == .greeting)
        let hs = peerHandshake("ROUTER")
        let greetingActions = c.handle(.received(Array(hs[0..<64])))
        let ready = ZMTPCommand.ready([.init("Socket-Type", Array("DEALER".utf8)), .init("Identity", Array("gw".utf8))]).encoded
        #expect(greetingActions == [.send(ready)])
        #expect(c.phase == .handshake)
        let readyActions = c.handle(.received(Array(hs[64...])))
        #expect(readyActions == [.handshakeComplete(peer: [.init("Socket-Type", Array("ROUTER".utf8))])])
        #expect(c.phase == .ready)
        let message = encodeMessage([[1], [2, 3]])
        #expect(c.handle(.received(message)) == [.deliver([[1], [2, 3]])])
    }

    @Test func handshakeByteByByteEqualsAllAtOnce() {
        let (_, whole) = handshaken(.dealer, peer: "ROUTER")
        var c = ZMTPConnection(socketType: .dealer)
        _ = c.handle(.connected)
        var actions: [ZMTPConnection.Action] = []
        for byte in peerHandshake("ROUTER") + encodeMessage([[7]]) { actions += c.handle(.received([byte])) }
        #expect(actions == whole + [.deliver([[7]])])
    }

    @Test func subSubscribesToEverythingBeforeCompleting() {
        let (c, actions) = handshaken(.sub, peer: "XPUB")
        #expect(actions.count == 3)
        #expect(actions[1] == .send([0x00, 0x01, 0x01]))
        if case .handshakeComplete = actions[2] {} else { Issue.record("no handshakeComplete: \(actions)") }
        #expect(c.phase == .ready)
        // SUB announces no identity.
        if case .send(let ready) = actions[0] {
            #expect(ready == ZMTPCommand.ready([.init("Socket-Type", Array("SUB".utf8))]).encoded)
        }
    }

    @Test func reqStripsTheDelimiterAndDropsRepliesWithoutOne() {
        var (c, _) = handshaken(.req, peer: "REP")
        #expect(c.handle(.received(encodeMessage([[], Array("ping".utf8)]))) == [.deliver([Array("ping".utf8)])])
        #expect(c.handle(.received(encodeMessage([Array("x".utf8)]))) == [])
        #expect(c.handle(.received(encodeMessage([[]]))) == [.deliver([])])
        #expect(c.phase == .ready)
    }

    @Test func socketTypeCompatibilityMatrix() {
        let peers = ["ROUTER", "DEALER", "PUB", "XPUB", "SUB", "XSUB", "REQ", "REP", "PAIR", "PUSH", "PULL", "router", ""]
        let allowed: [ZMTPSocketType: Set<String>] = [.dealer: ["ROUTER"], .sub: ["PUB", "XPUB"], .req: ["REP", "ROUTER"]]
        for type in ZMTPSocketType.allCases {
            for peer in peers {
                let (c, actions) = handshaken(type, peer: peer)
                let ok = allowed[type]?.contains(peer) == true
                #expect((c.phase == .ready) == ok, "\(type) ↔ \(peer)")
                if !ok { #expect(failure(actions)?.code == .incompatibleSocketType) }
            }
        }
    }

    @Test func readyWithoutSocketTypeFails() {
        var c = ZMTPConnection(socketType: .dealer)
        _ = c.handle(.connected)
        let actions = c.handle(.received(ZMTPGreeting.encoded + ZMTPCommand.ready([.init("Identity", [])]).encoded))
        #expect(failure(actions)?.code == .incompatibleSocketType)
    }

    @Test func errorCommandFailsInHandshakeAndWhenReady() {
        var c = ZMTPConnection(socketType: .dealer)
        _ = c.handle(.connected)
        let actions = c.handle(.received(ZMTPGreeting.encoded + ZMTPCommand.error(reason: Array("no".utf8)).encoded))
        #expect(failure(actions)?.code == .peerError)
        #expect(failure(actions)?.message.contains("no") == true)
        var (d, _) = handshaken(.dealer, peer: "ROUTER")
        #expect(failure(d.handle(.received(ZMTPCommand.error(reason: []).encoded)))?.code == .peerError)
        #expect(d.phase == .failed)
    }

    @Test func pingIsAnsweredAndPongAndUnknownAreIgnored() {
        var (c, _) = handshaken(.dealer, peer: "ROUTER")
        let input = ZMTPCommand.ping(ttl: 10, context: [1, 2, 3]).encoded
            + ZMTPCommand.pong(context: [4]).encoded
            + ZMTPCommand.unknown(name: Array("HELLO".utf8), data: [1]).encoded
            + encodeMessage([[5]])
        #expect(c.handle(.received(input)) == [.send(ZMTPCommand.pong(context: [1, 2, 3]).encoded), .deliver([[5]])])
        // A peer's oversized context (the spec allows 16 bytes) is not echoed back whole.
        let big = [UInt8](repeating: 7, count: 60_000)
        #expect(c.handle(.received(ZMTPCommand.ping(ttl: 1, context: big).encoded))
                == [.send(ZMTPCommand.pong(context: Array(big.prefix(16))).encoded)])
    }

    @Test func outOfOrderTrafficFails() {
        // A message before READY.
        var a = ZMTPConnection(socketType: .dealer)
        _ = a.handle(.connected)
        #expect(failure(a.handle(.received(ZMTPGreeting.encoded + encodeMessage([[1]]))))?.code == .unexpected)
        // A PING before READY.
        var b = ZMTPConnection(socketType: .dealer)
        _ = b.handle(.connected)
        #expect(failure(b.handle(.received(ZMTPGreeting.encoded + ZMTPCommand.ping(ttl: 0, context: []).encoded)))?.code == .unexpected)
        // A second READY.
        var (c, _) = handshaken(.dealer, peer: "ROUTER")
        #expect(failure(c.handle(.received(ZMTPCommand.ready([.init("Socket-Type", Array("ROUTER".utf8))]).encoded)))?.code == .unexpected)
    }

    @Test func afterAFailureInputIsIgnoredAndNothingElseIsEmitted() {
        var c = ZMTPConnection(socketType: .dealer)
        _ = c.handle(.connected)
        let actions = c.handle(.received([0x00] + ZMTPGreeting.encoded + encodeMessage([[1]])))
        #expect(actions.count == 1 && failure(actions)?.code == .badSignature)
        #expect(c.handle(.received(encodeMessage([[1]]))) == [])
        #expect(c.phase == .failed)
    }

    @Test func bytesBeforeConnectedAreIgnored() {
        var c = ZMTPConnection(socketType: .dealer)
        #expect(c.handle(.received([1, 2, 3])) == [])
        #expect(c.phase == .idle)
    }

    @Test func limitsApplyThroughTheConnection() {
        var c = ZMTPConnection(socketType: .dealer, limits: ZMTPLimits(maxMessageBytes: 4))
        _ = c.handle(.connected)
        _ = c.handle(.received(peerHandshake("ROUTER")))
        #expect(failure(c.handle(.received(encodeMessage([[1, 2, 3, 4, 5]]))))?.code == .messageTooLarge)
    }
}

@Suite struct ZMTPOutboundQueueTests {
    func append(_ q: inout ZMTPOutboundQueue, _ frames: [[UInt8]]) {
        for (i, f) in frames.enumerated() { f.withUnsafeBytes { q.append(frame: $0, more: i < frames.count - 1) } }
    }

    func unwritten(_ q: ZMTPOutboundQueue) -> [UInt8] { q.withUnwritten { Array($0) } }

    @Test func messagesJoinTheQueueWhenComplete() {
        var q = ZMTPOutboundQueue()
        [UInt8]([1]).withUnsafeBytes { q.append(frame: $0, more: true) }
        #expect(q.messageCount == 0 && q.isBuilding)
        [UInt8]([2]).withUnsafeBytes { q.append(frame: $0, more: false) }
        #expect(q.messageCount == 1 && !q.isBuilding)
        append(&q, [[3]])
        #expect(q.messageCount == 2)
        #expect(unwritten(q) == encodeMessage([[1], [2]]) + encodeMessage([[3]]))
    }

    @Test func partialWriteThenRewindResendsTheWholeMessage() {
        var q = ZMTPOutboundQueue()
        append(&q, [[1, 1], [2, 2]])  // 8 bytes
        append(&q, [[3, 3]])          // 4 bytes
        q.didWrite(3)
        #expect(q.messageCount == 2 && !q.isAtMessageBoundary)
        q.rewind()
        #expect(unwritten(q) == encodeMessage([[1, 1], [2, 2]]) + encodeMessage([[3, 3]]))
        q.didWrite(10)  // first message done, second partly
        #expect(q.messageCount == 1)
        q.rewind()
        #expect(unwritten(q) == encodeMessage([[3, 3]]))
        q.didWrite(4)
        #expect(q.messageCount == 0 && q.unwrittenCount == 0 && q.isAtMessageBoundary)
    }

    @Test func aMessageBeingBuiltIsNotWrittenAndCanBeDiscarded() {
        var q = ZMTPOutboundQueue()
        append(&q, [[9]])
        [UInt8]([1]).withUnsafeBytes { q.append(frame: $0, more: true) }
        #expect(unwritten(q) == encodeMessage([[9]]) && q.messageCount == 1)
        q.discardBuilding()
        #expect(unwritten(q) == encodeMessage([[9]]) && !q.isBuilding)
        [UInt8]([1]).withUnsafeBytes { q.append(frame: $0, more: true) }
        [UInt8]([2]).withUnsafeBytes { q.append(frame: $0, more: false) }
        #expect(unwritten(q) == encodeMessage([[9]]) + encodeMessage([[1], [2]]) && q.messageCount == 2)
    }

    @Test func longBacklogIsCompacted() {
        var q = ZMTPOutboundQueue()
        let big = [UInt8](repeating: 1, count: 700_000)
        for _ in 0..<4 { append(&q, [big]) }
        let size = big.count + 9
        q.didWrite(2 * size + 5)
        #expect(q.messageCount == 2)
        q.rewind()
        #expect(q.unwrittenCount == 2 * size)
        q.didWrite(2 * size)
        #expect(q.messageCount == 0 && q.unwrittenCount == 0)
    }
}
