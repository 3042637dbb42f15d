import CZeroMQ
import EventLoop
import Glibc
import Synchronization
import Testing
@testable import ZeroMQ
@testable import ZMTP

/// One libzmq context for all interop tests, never terminated (a test that fails half-way must not hang in
/// zmq_ctx_term on a socket it did not close).
let testContext: ZMQContext? = try? ZMQContext()

/// Messages delivered by a `ZMTPSocket` (appended on the loop thread, read by the test).
final class Inbox: Sendable {
    private let messages = Mutex<[[[UInt8]]]>([])
    func append(_ frames: [[UInt8]]) { messages.withLock { $0.append(frames) } }
    var count: Int { messages.withLock { $0.count } }
    var all: [[[UInt8]]] { messages.withLock { $0 } }
}

func onLoop<T: Sendable>(_ loop: EventLoop, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { done in loop.execute { done.resume(returning: body()) } }
}

/// Closes `socket` on its loop and waits for it (for `defer`, which cannot await; the loop must be running).
func closeBlocking(_ socket: ZMTPSocket) {
    final class Flag: Sendable { let done = Atomic<Bool>(false) }
    let flag = Flag()
    socket.loop.execute {
        socket.close()
        flag.done.store(true, ordering: .releasing)
    }
    while !flag.done.load(ordering: .acquiring) { usleep(100) }
}

/// Polls `condition` every millisecond until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return await condition()
}

/// A connected `ZMTPSocket` whose messages go to `inbox`.
func startSocket(_ loop: EventLoop, _ type: ZMTPSocketType, _ endpoint: String, identity: [UInt8] = [],
                 options: ZMTPSocket.Options = ZMTPSocket.Options(), inbox: Inbox) async throws -> ZMTPSocket {
    let socket = try ZMTPSocket(loop: loop, type: type, endpoint: endpoint, identity: identity, options: options) {
        inbox.append($0)
    }
    await onLoop(loop) { socket.connect() }
    return socket
}

func send(_ socket: ZMTPSocket, _ frames: [[UInt8]]) async -> Bool {
    await onLoop(socket.loop) { socket.send(frames: frames) }
}

/// Receives one message from a libzmq socket, polling until `timeout`.
func zmqReceive(_ socket: ZMQSocket, timeout: Duration = .seconds(10)) async -> [[UInt8]]? {
    var frames: [[UInt8]] = []
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? socket.receive(into: &frames)) == true { return frames }
        try? await Task.sleep(for: .microseconds(200))
    }
    return nil
}

/// Binds, retrying briefly: a just-closed libzmq listener may release its port or path asynchronously.
func bindRetrying(_ socket: ZMQSocket, _ endpoint: String) async throws {
    for _ in 0..<200 {
        if (try? socket.bind(endpoint)) != nil { return }
        try? await Task.sleep(for: .milliseconds(5))
    }
    try socket.bind(endpoint)
}

/// A loopback TCP port nobody listens on right now.
func freePort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
            _ = bind(fd, p, length)
            return getsockname(fd, p, &length)
        }
    }
    return UInt16(bigEndian: addr.sin_port)
}

private let ipcCounter = Atomic<Int>(0)

/// A fresh unix socket path under /tmp.
func ipcEndpoint() -> String {
    "ipc:///tmp/zmtp-test-\(getpid())-\(ipcCounter.add(1, ordering: .relaxed).newValue).sock"
}

/// A raw TCP server on loopback for hostile-peer tests (blocking I/O with poll timeouts, test thread only).
final class RawServer {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
                guard bind(fd, p, length) == 0, listen(fd, 16) == 0 else { return -1 }
                return getsockname(fd, p, &length)
            }
        }
        guard rc == 0 else { close(fd); throw SystemError("raw server") }
        port = UInt16(bigEndian: addr.sin_port)
    }

    deinit { close(fd) }

    var endpoint: String { "tcp://127.0.0.1:\(port)" }

    /// Accepts one connection, waiting at most `timeout`; nil on timeout.
    func accept(timeout: Duration = .seconds(10)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 0) == 1 { return Glibc.accept(fd, nil, nil) }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return nil
    }

    static func write(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}

/// A libzmq socket of a type `ZMQSocketType` lacks (XPUB), through the C API.
final class RawZMQSocket {
    let handle: UnsafeMutableRawPointer

    init?(context: ZMQContext, type: Int32) {
        guard let h = zmq_socket(context.handle, type) else { return nil }
        handle = h
        var zero: Int32 = 0
        zmq_setsockopt(h, ZMQ_LINGER, &zero, MemoryLayout<Int32>.size)
    }

    func close() { zmq_close(handle) }

    func bind(_ endpoint: String) -> Bool { zmq_bind(handle, endpoint) == 0 }

    func send(_ bytes: [UInt8], more: Bool = false) -> Bool {
        bytes.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)) } >= 0
    }

    func receive(timeout: Duration = .seconds(10)) async -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 256)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let n = buffer.withUnsafeMutableBytes { zmq_recv(handle, $0.baseAddress, $0.count, ZMQ_DONTWAIT) }
            if n >= 0 { return Array(buffer.prefix(Int(n))) }
            try? await Task.sleep(for: .microseconds(200))
        }
        return nil
    }
}
