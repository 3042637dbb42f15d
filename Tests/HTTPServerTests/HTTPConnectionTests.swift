import EventLoop
import Glibc
import Logging
import Synchronization
import Testing
@testable import HTTPServer

/// `HTTPConnection` on one end of a socketpair, driven by a raw client on the other: the head decision, the body
/// bound and the receive deadlines as a client sees them.
@Suite(.serialized) struct HTTPConnectionTests {
    /// Deadlines and linger of 100 ms, a 1 KiB body limit.
    static let fastConfiguration = HTTPServerConfiguration(
        limits: .init(maxBodyBytes: 1024), headerTimeout: .milliseconds(100), bodyTimeout: .milliseconds(100),
        lingerTimeout: .milliseconds(100))

    @Test func refusedHeadIsAnsweredBeforeTheBodyIsSent() async throws {
        let responder = ScriptedResponder { _ in
            .reject(HTTPResponse(status: .unauthorized, body: Array("no token".utf8)))
        }
        let setup = try await HTTPConnectionSetup.make(responder: responder)
        defer { setup.shutdown() }
        // Only the head: the answer must not wait for the (16 MiB) body.
        try setup.peer.write("POST /k HTTP/1.1\r\nContent-Length: 16777216\r\n\r\n")
        let answer = try setup.peer.readToEnd()
        #expect(answer.hasPrefix("HTTP/1.1 401 Unauthorized\r\n"))
        #expect(answer.contains("Connection: close\r\n"))
        #expect(answer.hasSuffix("\r\n\r\nno token"))
        #expect(responder.responded.load(ordering: .relaxed) == 0)
    }

    @Test func refusedHeadWithoutBodyKeepsTheConnection() async throws {
        let responder = ScriptedResponder { head in
            head.path == "/secret" ? .reject(HTTPResponse(status: .unauthorized)) : .proceed
        }
        let setup = try await HTTPConnectionSetup.make(responder: responder)
        defer { setup.shutdown() }
        try setup.peer.write("GET /secret HTTP/1.1\r\n\r\nGET /open HTTP/1.1\r\nConnection: close\r\n\r\n")
        let answer = try setup.peer.readToEnd()
        #expect(answer.hasPrefix("HTTP/1.1 401 Unauthorized\r\n"))
        #expect(answer.contains("HTTP/1.1 200 OK\r\n"))
        #expect(responder.responded.load(ordering: .relaxed) == 1)
    }

    @Test func bodyAboveTheHeadsBoundIs413() async throws {
        let responder = ScriptedResponder { _ in .proceed(maxBodyBytes: 10) }
        let setup = try await HTTPConnectionSetup.make(responder: responder)
        defer { setup.shutdown() }
        try setup.peer.write("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n")
        let answer = try setup.peer.readToEnd()
        #expect(answer.hasPrefix("HTTP/1.1 413 "))
        #expect(responder.responded.load(ordering: .relaxed) == 0)
    }

    @Test func slowHeadIsAnswered408AndClosed() async throws {
        let responder = ScriptedResponder { _ in .proceed }
        let setup = try await HTTPConnectionSetup.make(responder: responder)
        defer { setup.shutdown() }
        let start = Monotonic.now
        try setup.peer.write("GET / HTTP/1.1\r\nHost: x\r\n")
        let answer = try setup.peer.readToEnd()
        let seconds = Double(Monotonic.now - start) / 1e9
        #expect(answer.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        #expect(answer.contains("request head not received within"))
        #expect(seconds >= 0.1 && seconds < 2, "closed after \(seconds) s")
        #expect(responder.events.withLock { $0 } == [.requestTimedOut(.head)])
    }

    @Test func slowBodyIsAnswered408AfterEarlierResponses() async throws {
        let responder = ScriptedResponder { _ in .proceed }
        let setup = try await HTTPConnectionSetup.make(responder: responder)
        defer { setup.shutdown() }
        try setup.peer.write("GET / HTTP/1.1\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
        let answer = try setup.peer.readToEnd()
        let ok = try #require(answer.range(of: "HTTP/1.1 200 OK"))
        let timeout = try #require(answer.range(of: "HTTP/1.1 408 Request Timeout"))
        #expect(ok.lowerBound < timeout.lowerBound)
        #expect(answer.contains("request body not received within"))
        #expect(responder.events.withLock { $0 } == [.requestTimedOut(.body)])
    }

    @Test func silentAnonymousConnectionIsClosedByTheHeadTimeoutWithoutAnAnswer() async throws {
        var configuration = Self.fastConfiguration
        configuration.idleTimeoutSeconds = 1
        let responder = ScriptedResponder { _ in .proceed }
        let setup = try await HTTPConnectionSetup.make(responder: responder, configuration: configuration)
        defer { setup.shutdown() }
        let start = Monotonic.now
        // Nothing sent and never admitted: the head timeout (100 ms), not the idle timeout (1 s), closes it, without
        // an answer.
        let answer = try setup.peer.readToEnd()
        let seconds = Double(Monotonic.now - start) / 1e9
        #expect(answer.isEmpty)
        #expect(seconds >= 0.09 && seconds < 0.9, "closed after \(seconds) s")
        #expect(responder.events.withLock { $0 }.isEmpty)
    }
}

/// Answers every request 200 "ok" (counted); decides heads with `decide`; records server events.
final class ScriptedResponder: HTTPResponder {
    let decide: @Sendable (HTTPRequest) -> HTTPHeadDecision
    let responded = Atomic<Int>(0)
    let events = Mutex<[HTTPServerEvent]>([])

    init(decide: @escaping @Sendable (HTTPRequest) -> HTTPHeadDecision) { self.decide = decide }

    func respond(to request: HTTPRequest, peer: PeerInfo) async -> HTTPServerResponse {
        responded.add(1, ordering: .relaxed)
        return .response(HTTPResponse(status: .ok, body: Array("ok".utf8)))
    }

    func authorizeHead(_ head: HTTPRequest, peer: PeerInfo) -> HTTPHeadDecision { decide(head) }

    func observe(_ event: HTTPServerEvent) { events.withLock { $0.append(event) } }
}

/// An `HTTPConnection` on its own loop, and the raw client end of its socketpair.
struct HTTPConnectionSetup {
    let loop: EventLoop
    let peer: RawHTTPPeer
    /// Held so the connection lives as long as the test (the server's table holds it in production).
    let connection: HTTPConnection

    static func make(responder: ScriptedResponder,
                     configuration: HTTPServerConfiguration = HTTPConnectionTests.fastConfiguration) async throws
        -> HTTPConnectionSetup {
        // The tests close peers on purpose: a write to them must fail with EPIPE, not kill the runner.
        signal(SIGPIPE, SIG_IGN)
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw PeerError(description: "socketpair failed")
        }
        _ = fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK)
        let loop = try EventLoop()
        let peer = RawHTTPPeer(fd: pair[1])
        let serverFD = pair[0]
        let logger = Logger(label: "test", handler: JSONLinesLogHandler(minimumLevel: .critical))
        let connection = await runOnLoop(loop) {
            let connection = HTTPConnection(id: 1, fd: serverFD, remoteAddress: nil, lease: nil, loop: loop,
                                            configuration: configuration, responder: responder, logger: logger,
                                            onClose: { _ in })
            connection.start()
            return connection
        }
        return HTTPConnectionSetup(loop: loop, peer: peer, connection: connection)
    }

    func shutdown() {
        loop.shutdown()
    }
}

/// The client end of a socketpair: writes text, reads until the server closes, each read bounded by a timeout.
final class RawHTTPPeer {
    let fd: Int32

    init(fd: Int32, timeoutSeconds: Int = 5) {
        self.fd = fd
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { Glibc.close(fd) }

    func write(_ text: String) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw PeerError(description: "write failed: errno \(errno)") }
            offset += n
        }
    }

    /// Everything the server sends until it closes (end of stream, or a reset after unread input). Throws when a
    /// read times out.
    func readToEnd() throws -> String {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                received += chunk[0..<n]
            } else if n == 0 || errno == ECONNRESET {
                return String(decoding: received, as: UTF8.self)
            } else {
                throw PeerError(description: "read failed: errno \(errno) after \(received.count) bytes")
            }
        }
    }
}
