import CZeroMQ
import EventLoop
import Glibc
import Testing
@testable import ZeroMQ
@testable import ZMTP

/// Our sockets against real libzmq peers in-process. Serialized: each test runs a loop and libzmq I/O, and the
/// machine is shared.
@Suite(.serialized) struct ZMTPSocketInteropTests {
    static let transports = ["tcp", "ipc"]

    func bindable(_ transport: String) -> String {
        transport == "tcp" ? "tcp://127.0.0.1:\(freePort())" : ipcEndpoint()
    }

    func router(_ context: ZMQContext, at endpoint: String) async throws -> ZMQSocket {
        let router = try ZMQSocket(context: context, type: .router)
        try router.setOption(ZMQ_SNDHWM, 0)
        try router.setOption(ZMQ_RCVHWM, 0)
        try await bindRetrying(router, endpoint)
        return router
    }

    @Test(arguments: transports)
    func dealerAndRouterExchangeMultipartMessages(_ transport: String) async throws {
        let context = try #require(testContext)
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let endpoint = bindable(transport)
        let router = try await router(context, at: endpoint)
        defer { router.close() }
        let inbox = Inbox()
        let dealer = try await startSocket(loop, .dealer, endpoint, identity: Array("gw-7".utf8), inbox: inbox)
        defer { closeBlocking(dealer) }

        #expect(await send(dealer, [Array("a".utf8), [], Array("ccc".utf8)]))
        let got = try #require(await zmqReceive(router))
        #expect(got == [Array("gw-7".utf8), Array("a".utf8), [], Array("ccc".utf8)])
        #expect(await onLoop(loop) { dealer.isReady })

        #expect(try router.send(frames: [Array("gw-7".utf8), [1], [2, 2]]))
        #expect(await eventually { inbox.count == 1 })
        #expect(inbox.all.first == [[1], [2, 2]])

        // A 10 MB frame both ways.
        let big = (0..<10_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(await send(dealer, [Array("big".utf8), big]))
        let bigGot = try #require(await zmqReceive(router))
        #expect(bigGot.count == 3 && bigGot[2] == big)
        #expect(try router.send(frames: [Array("gw-7".utf8), big]))
        #expect(await eventually { inbox.count == 2 })
        #expect(inbox.all.last == [big])

        // 10,000 messages in order both ways.
        let accepted = await onLoop(loop) { () -> Int in
            var accepted = 0
            for i in 0..<10_000 {
                var n = UInt32(i).bigEndian
                let ok = withUnsafeBytes(of: &n) { raw in dealer.send(raw, more: true) }
                    && dealer.send(UnsafeRawBufferPointer(start: nil, count: 0), more: false)
                if ok { accepted += 1 }
            }
            return accepted
        }
        #expect(accepted == 10_000)
        var inOrder = true
        for i in 0..<10_000 {
            guard let m = await zmqReceive(router), m.count == 3 else { inOrder = false; break }
            if m[1] != withUnsafeBytes(of: UInt32(i).bigEndian, Array.init) { inOrder = false; break }
        }
        #expect(inOrder)
        for i in 0..<10_000 { _ = try router.send(frames: [Array("gw-7".utf8), withUnsafeBytes(of: UInt32(i).bigEndian, Array.init)]) }
        #expect(await eventually { inbox.count == 10_002 })
        let order = inbox.all.dropFirst(2).map { $0.first ?? [] }
        #expect(order == (0..<10_000).map { withUnsafeBytes(of: UInt32($0).bigEndian, Array.init) })
        let counters = await onLoop(loop) { dealer.counters }
        #expect(counters.handshakes == 1 && counters.protocolErrors == 0 && counters.disconnects == 0)
    }

    @Test(arguments: transports)
    func subReceivesEverythingFromXPUBAndPUB(_ transport: String) async throws {
        let context = try #require(testContext)
        let loop = try EventLoop()
        defer { loop.shutdown() }

        // XPUB shows the subscription we send: 0x01 and an empty topic.
        let xpubEndpoint = bindable(transport)
        let xpub = try #require(RawZMQSocket(context: context, type: ZMQ_XPUB))
        defer { xpub.close() }
        #expect(xpub.bind(xpubEndpoint))
        let inbox = Inbox()
        let sub = try await startSocket(loop, .sub, xpubEndpoint, inbox: inbox)
        defer { closeBlocking(sub) }
        #expect(await xpub.receive() == [0x01])
        for i in 0..<1_000 {
            #expect(xpub.send(Array("topic".utf8), more: true) && xpub.send([UInt8(i & 0xFF), UInt8(i >> 8)]))
        }
        #expect(await eventually { inbox.count == 1_000 })
        #expect(inbox.all.enumerated().allSatisfy { i, m in m == [Array("topic".utf8), [UInt8(i & 0xFF), UInt8(i >> 8)]] })

        // A plain PUB: publish until the subscription has arrived, then everything after it is received.
        let pubEndpoint = bindable(transport)
        let pub = try ZMQSocket(context: context, type: .pub)
        defer { pub.close() }
        try pub.bind(pubEndpoint)
        let pubInbox = Inbox()
        let sub2 = try await startSocket(loop, .sub, pubEndpoint, inbox: pubInbox)
        defer { closeBlocking(sub2) }
        #expect(await eventually {
            _ = try? pub.send(frames: [Array("warm-up".utf8)])
            return pubInbox.count > 0
        })
        for i in 0..<500 { _ = try pub.send(frames: [[UInt8(i & 0xFF)], Array("x".utf8)]) }
        // Warm-ups still in flight may arrive before them.
        func published() -> [[[UInt8]]] { pubInbox.all.filter { $0 != [Array("warm-up".utf8)] } }
        #expect(await eventually { published().count == 500 })
        #expect(published().enumerated().allSatisfy { i, m in m == [[UInt8(i & 0xFF)], Array("x".utf8)] })
    }

    @Test(arguments: transports)
    func reqAgainstRouterEchoAndREP(_ transport: String) async throws {
        let context = try #require(testContext)
        let loop = try EventLoop()
        defer { loop.shutdown() }

        // ipykernel's heartbeat: a ROUTER echoing every message back as it came.
        let echoEndpoint = bindable(transport)
        let echo = try await router(context, at: echoEndpoint)
        defer { echo.close() }
        let inbox = Inbox()
        let req = try await startSocket(loop, .req, echoEndpoint, identity: Array("hb".utf8), inbox: inbox)
        defer { closeBlocking(req) }
        // Relaxed: two requests before any reply.
        #expect(await send(req, [Array("ping-1".utf8)]))
        #expect(await send(req, [Array("ping-2".utf8)]))
        for _ in 0..<2 {
            let m = try #require(await zmqReceive(echo))
            #expect(m.count == 3 && m[0] == Array("hb".utf8) && m[1].isEmpty)
            #expect(try echo.send(frames: m))
        }
        #expect(await eventually { inbox.count == 2 })
        #expect(inbox.all == [[Array("ping-1".utf8)], [Array("ping-2".utf8)]])

        // A REP sees only the body and answers it.
        let repEndpoint = bindable(transport)
        let rep = try ZMQSocket(context: context, type: .rep)
        defer { rep.close() }
        try rep.bind(repEndpoint)
        let repInbox = Inbox()
        let req2 = try await startSocket(loop, .req, repEndpoint, inbox: repInbox)
        defer { closeBlocking(req2) }
        for i in 0..<3 {
            #expect(await send(req2, [Array("q".utf8), [UInt8(i)]]))
            #expect(await zmqReceive(rep) == [Array("q".utf8), [UInt8(i)]])
            #expect(try rep.send(frames: [Array("a".utf8), [UInt8(i)]]))
            #expect(await eventually { repInbox.count == i + 1 })
        }
        #expect(repInbox.all == (0..<3).map { [Array("a".utf8), [UInt8($0)]] })
    }

    @Test(arguments: transports)
    func connectsBeforeThePeerBindsAndFlushesQueuedMessages(_ transport: String) async throws {
        let context = try #require(testContext)
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let endpoint = bindable(transport)
        let inbox = Inbox()
        let dealer = try await startSocket(loop, .dealer, endpoint, identity: Array("early".utf8), inbox: inbox)
        defer { closeBlocking(dealer) }
        #expect(await send(dealer, [Array("queued-1".utf8)]))
        #expect(await send(dealer, [Array("queued-2".utf8), [2]]))
        try await Task.sleep(for: .milliseconds(50))
        let router = try await router(context, at: endpoint)
        defer { router.close() }
        #expect(await zmqReceive(router) == [Array("early".utf8), Array("queued-1".utf8)])
        #expect(await zmqReceive(router) == [Array("early".utf8), Array("queued-2".utf8), [2]])
        let counters = await onLoop(loop) { dealer.counters }
        #expect(counters.connectAttempts > 1)
        #expect(counters.handshakes == 1)
    }

    @Test(arguments: transports)
    func reconnectsToARestartedPeerAndDeliversWhatWasQueued(_ transport: String) async throws {
        let context = try #require(testContext)
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let endpoint = bindable(transport)
        let first = try await router(context, at: endpoint)
        let inbox = Inbox()
        let dealer = try await startSocket(loop, .dealer, endpoint, identity: Array("gw".utf8), inbox: inbox)
        defer { closeBlocking(dealer) }
        #expect(await send(dealer, [Array("before".utf8)]))
        #expect(await zmqReceive(first) == [Array("gw".utf8), Array("before".utf8)])

        first.close()
        #expect(await eventually { await onLoop(loop) { !dealer.isReady } })
        for i in 0..<3 { #expect(await send(dealer, [Array("while-down".utf8), [UInt8(i)]])) }
        #expect(await onLoop(loop) { dealer.queuedMessages } == 3)

        let second = try await router(context, at: endpoint)
        defer { second.close() }
        for i in 0..<3 {
            #expect(await zmqReceive(second) == [Array("gw".utf8), Array("while-down".utf8), [UInt8(i)]])
        }
        #expect(try second.send(frames: [Array("gw".utf8), Array("hello-again".utf8)]))
        #expect(await eventually { inbox.count == 1 })
        let counters = await onLoop(loop) { dealer.counters }
        #expect(counters.handshakes == 2 && counters.disconnects >= 1 && counters.protocolErrors == 0)
    }

    @Test func answersLibzmqHeartbeatPings() async throws {
        let context = try #require(testContext)
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let endpoint = bindable("tcp")
        let router = try ZMQSocket(context: context, type: .router)
        defer { router.close() }
        // The ROUTER pings every 5 ms and drops a peer silent for 30 ms: only our PONGs keep us connected.
        try router.setOption(ZMQ_HEARTBEAT_IVL, 5)
        try router.setOption(ZMQ_HEARTBEAT_TIMEOUT, 30)
        try router.bind(endpoint)
        let inbox = Inbox()
        let dealer = try await startSocket(loop, .dealer, endpoint, identity: Array("p".utf8), inbox: inbox)
        defer { closeBlocking(dealer) }
        #expect(await send(dealer, [[1]]))
        #expect(await zmqReceive(router) == [Array("p".utf8), [1]])
        try await Task.sleep(for: .milliseconds(200))
        #expect(await send(dealer, [[2]]))
        #expect(await zmqReceive(router) == [Array("p".utf8), [2]])
        let counters = await onLoop(loop) { dealer.counters }
        #expect(counters.disconnects == 0 && counters.handshakes == 1)
    }
}

/// Our socket against peers that misbehave, and the socket's own rules.
@Suite(.serialized) struct ZMTPSocketBehaviourTests {
    @Test func hostilePeerIsDroppedCountedAndReconnectedTo() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let server = try RawServer()
        let inbox = Inbox()
        let dealer = try await startSocket(loop, .dealer, server.endpoint, inbox: inbox)
        defer { closeBlocking(dealer) }

        // 1: garbage instead of a greeting.
        let c1 = try #require(await server.accept())
        defer { close(c1) }
        RawServer.write(c1, Array("HTTP/1.1 200 OK\r\n\r\n".utf8))
        #expect(await eventually { await onLoop(loop) { dealer.counters.protocolErrors } == 1 })
        #expect(await onLoop(loop) { dealer.lastProtocolError?.code } == .badSignature)

        // 2: a valid handshake, then a frame announcing 1 TiB.
        let c2 = try #require(await server.accept())
        defer { close(c2) }
        RawServer.write(c2, peerHandshake("ROUTER") + [0x02, 0, 0, 1, 0, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 1000))
        #expect(await eventually { await onLoop(loop) { dealer.counters.protocolErrors } == 2 })
        #expect(await onLoop(loop) { dealer.lastProtocolError?.code } == .messageTooLarge)

        // 3: random bytes after the handshake, in several writes.
        let c3 = try #require(await server.accept())
        defer { close(c3) }
        var rng = SplitMix(state: 9)
        RawServer.write(c3, peerHandshake("ROUTER"))
        for _ in 0..<20 { RawServer.write(c3, (0..<100).map { _ in UInt8.random(in: 0...255, using: &rng) }) }
        #expect(await eventually { await onLoop(loop) { dealer.counters.protocolErrors } == 3 })

        // 4: a well-behaved peer is served normally afterwards.
        let c4 = try #require(await server.accept())
        defer { close(c4) }
        RawServer.write(c4, peerHandshake("ROUTER") + encodeMessage([Array("ok".utf8)]))
        #expect(await eventually { inbox.count == 1 })
        #expect(inbox.all == [[Array("ok".utf8)]])
        #expect(await onLoop(loop) { dealer.isReady })
    }

    @Test func ipcSocketsOfAnotherUIDAreRefusedBeforeAnyByte() async throws {
        let context = try #require(testContext)
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let endpoint = ipcEndpoint()
        let listener = try ZMQSocket(context: context, type: .router)
        try await bindRetrying(listener, endpoint)
        defer { listener.close() }
        // The listener is this process: a socket expecting another uid (as the gateway expects the kernel's
        // account) must not talk to it; one expecting ours does.
        let me = UInt32(geteuid())
        let strangerInbox = Inbox()
        let wary = try await startSocket(loop, .dealer, endpoint, identity: Array("wary".utf8),
                                         options: ZMTPSocket.Options(expectedPeerUID: me &+ 1), inbox: strangerInbox)
        defer { closeBlocking(wary) }
        #expect(await eventually { await onLoop(loop) { wary.counters.peerRefusals } >= 3 })
        #expect(await send(wary, [Array("must not arrive".utf8)]))
        let trusting = try await startSocket(loop, .dealer, endpoint, identity: Array("ok".utf8),
                                             options: ZMTPSocket.Options(expectedPeerUID: me), inbox: Inbox())
        defer { closeBlocking(trusting) }
        #expect(await send(trusting, [Array("hello".utf8)]))
        let got = try #require(await zmqReceive(listener))
        #expect(got == [Array("ok".utf8), Array("hello".utf8)])
        let counters = await onLoop(loop) { wary.counters }
        let waryReady = await onLoop(loop) { wary.isReady }
        #expect(counters.connects == 0 && counters.handshakes == 0 && !waryReady)
        #expect(await onLoop(loop) { trusting.counters.peerRefusals } == 0)
    }

    @Test func silentPeerHitsTheHandshakeTimeout() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let server = try RawServer()
        let options = ZMTPSocket.Options(handshakeTimeout: .milliseconds(30))
        let dealer = try await startSocket(loop, .dealer, server.endpoint, options: options, inbox: Inbox())
        defer { closeBlocking(dealer) }
        let c1 = try #require(await server.accept())
        defer { close(c1) }
        // Our greeting arrives whole and first.
        var greeting = [UInt8](repeating: 0, count: 64)
        var got = 0
        #expect(await eventually {
            let n = greeting.withUnsafeMutableBytes { recv(c1, $0.baseAddress! + got, 64 - got, Int32(MSG_DONTWAIT)) }
            if n > 0 { got += n }
            return got == 64
        })
        #expect(greeting == ZMTPGreeting.encoded)
        let c2 = try #require(await server.accept())
        defer { close(c2) }
        let counters = await onLoop(loop) { dealer.counters }
        #expect(counters.handshakeTimeouts >= 1 && counters.disconnects >= 1)
    }

    @Test func highWaterMarkRefusesFirstFramesOnlyAndCloseStopsEverything() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let options = ZMTPSocket.Options(sendHighWaterMark: 2)
        let dealer = try await startSocket(loop, .dealer, "tcp://127.0.0.1:\(freePort())", options: options, inbox: Inbox())
        let results = await onLoop(loop) { () -> [Bool] in
            let empty = UnsafeRawBufferPointer(start: nil, count: 0)
            var r: [Bool] = []
            r.append(dealer.send(empty, more: true))    // message 1 starts
            r.append(dealer.send(empty, more: false))   // message 1 complete
            r.append(dealer.send(empty, more: true))    // message 2 starts (1 queued < 2)
            r.append(dealer.send(empty, more: true))    // later frames are always accepted
            r.append(dealer.send(empty, more: false))   // 2 queued now
            r.append(dealer.send(empty, more: false))   // refused: high-water mark
            r.append(dealer.queuedMessages == 2)
            dealer.close()
            dealer.close()
            r.append(dealer.send(empty, more: false))   // closed
            r.append(dealer.queuedMessages == 0)
            return r
        }
        #expect(results == [true, true, true, true, true, false, true, false, true])
    }

    @Test func refusesBadEndpointsAndIdentities() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        #expect(throws: ZMTPEndpoint.ParseError.self) {
            try ZMTPSocket(loop: loop, type: .dealer, endpoint: "ipc:///" + String(repeating: "x", count: 120)) { _ in }
        }
        #expect(throws: ZMTPProtocolError.self) {
            try ZMTPSocket(loop: loop, type: .dealer, endpoint: "tcp://127.0.0.1:1", identity: [UInt8](repeating: 1, count: 256)) { _ in }
        }
    }
}
