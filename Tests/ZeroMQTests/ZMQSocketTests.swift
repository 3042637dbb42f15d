import CZeroMQ
import Glibc
import Testing
import EventLoop
@testable import ZeroMQ

/// Owns a DEALER/ROUTER pair on one loop, like a kernel actor owns its sockets.
actor SocketPair {
    let loop: EventLoop
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
    let router: ZMQSocket
    let dealer: ZMQSocket
    var received: [[[UInt8]]] = []
    var waiter: CheckedContinuation<[[[UInt8]]], Never>?
    var expected = 0

    init(loop: EventLoop, context: ZMQContext) throws {
        self.loop = loop
        router = try ZMQSocket(context: context, type: .router)
        dealer = try ZMQSocket(context: context, type: .dealer)
        try router.bind("tcp://127.0.0.1:*")
        try dealer.setIdentity(Array("client-1".utf8))
        try dealer.connect(try router.lastEndpoint())
    }

    func start() throws {
        let fd = router.fileDescriptor
        try loop.register(fd: fd, events: EventLoop.readable) { [self] _ in
            self.assumeIsolated { $0.drain() }
        }
    }

    func drain() {
        var frames: [[UInt8]] = []
        while (try? router.receive(into: &frames)) == true {
            received.append(frames)
        }
        if received.count >= expected, let waiter {
            self.waiter = nil
            waiter.resume(returning: received)
        }
    }

    func sendAndCollect(_ count: Int) async throws -> [[[UInt8]]] {
        expected = count
        for i in 0..<count {
            #expect(try dealer.send(frames: [Array("hello".utf8), [UInt8(i)]]))
        }
        // Sends can consume the descriptor's edge: re-check as the wrapper's contract says.
        if router.hasInput { drain() }
        if received.count >= count { return received }
        return await withCheckedContinuation { waiter = $0 }
    }

    func stop() {
        loop.deregister(fd: router.fileDescriptor)
        router.close()
        dealer.close()
    }
}

@Suite struct ZMQSocketTests {
    @Test func dealerToRouterOnLoopDeliversAllFrames() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let context = try ZMQContext()
        let pair = try SocketPair(loop: loop, context: context)
        try await pair.start()
        let messages = try await pair.sendAndCollect(200)
        #expect(messages.count == 200)
        #expect(messages.first?.first == Array("client-1".utf8))
        #expect(messages.last?.last == [199])
        await pair.stop()
    }

    @Test func receiveOnEmptySocketReturnsFalse() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .router)
        try socket.bind("tcp://127.0.0.1:*")
        var frames: [[UInt8]] = []
        #expect(try socket.receive(into: &frames) == false)
        socket.close()
        #expect(throws: ZMQError.self) { try socket.receive(into: &frames) }
    }
}
