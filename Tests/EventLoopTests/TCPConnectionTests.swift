import Glibc
import Synchronization
import Testing
@testable import EventLoop

/// Echoes what it reads and records the drain/close callbacks.
final class EchoDelegate: TCPConnectionDelegate, @unchecked Sendable {
    // Loop-thread only.
    var received = 0
    var drained = 0
    var closed = false
    var echo = true
    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer) {
        received += bytes.count
        if echo { connection.write(bytes) }
    }
    func connectionDidDrain(_ connection: TCPConnection) { drained += 1 }
    func connectionDidClose(_ connection: TCPConnection) { closed = true }
}

func onLoop<T: Sendable>(_ loop: EventLoop, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { done in loop.execute { done.resume(returning: body()) } }
}

@Suite struct TCPConnectionTests {
    @Test func echoesThroughListenerAndConnection() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let delegate = EchoDelegate()
        let holder = Mutex<[TCPConnection]>([])
        let listener = try TCPListener(host: "127.0.0.1", port: 0, loop: loop)
        try await onLoop(loop) { () -> Result<Void, SystemError> in
            do {
                try listener.startAccepting { fd in
                    let connection = TCPConnection(fd: fd, loop: loop)
                    connection.delegate = delegate
                    try? connection.start()
                    holder.withLock { $0.append(connection) }
                }
                return .success(())
            } catch { return .failure(error as? SystemError ?? SystemError("x")) }
        }.get()
        #expect(listener.port > 0)

        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(listener.port)).bigEndian
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(rc == 0)
        let payload = (0..<100_000).map { UInt8(truncatingIfNeeded: $0) }
        var sent = 0
        var echoed: [UInt8] = []
        while echoed.count < payload.count {
            if sent < payload.count {
                let n = payload[sent...].withUnsafeBytes { send(client, $0.baseAddress, min($0.count, 8192), 0) }
                if n > 0 { sent += n }
            }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = recv(client, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if n > 0 { echoed += buffer[0..<n] }
        }
        #expect(echoed == payload)
        close(client)
        // The server side notices the peer closing.
        for _ in 0..<100 where !(await onLoop(loop) { delegate.closed }) {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(await onLoop(loop) { delegate.closed })
        await onLoop(loop) { listener.close() }
    }

    @Test func queueGrowsWhenPeerDoesNotReadAndDrains() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var pair: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        _ = fcntl(pair[0], F_SETFL, O_NONBLOCK)
        let serverFD = pair[0], peer = pair[1]
        defer { close(peer) }
        let delegate = EchoDelegate()
        let connection = await onLoop(loop) { () -> TCPConnection in
            let c = TCPConnection(fd: serverFD, loop: loop, highWaterMark: 256 * 1024)
            c.delegate = delegate
            try? c.start()
            let chunk = [UInt8](repeating: 7, count: 64 * 1024)
            for _ in 0..<64 { c.write(chunk) }
            return c
        }
        let (queued, over) = await onLoop(loop) { (connection.queuedBytes, connection.isOverHighWater) }
        #expect(queued > 256 * 1024)
        #expect(over)
        // Now the peer reads everything; the queue drains and the delegate hears it.
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 65536)
        while total < 64 * 64 * 1024 {
            let n = read(peer, &buffer, buffer.count)
            if n <= 0 { break }
            total += n
        }
        #expect(total == 64 * 64 * 1024)
        for _ in 0..<100 where await onLoop(loop, { delegate.drained }) == 0 {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(await onLoop(loop) { delegate.drained } == 1)
        #expect(await onLoop(loop) { connection.queuedBytes } == 0)
        await onLoop(loop) { connection.close() }
        #expect(await onLoop(loop) { delegate.closed })
    }
}
