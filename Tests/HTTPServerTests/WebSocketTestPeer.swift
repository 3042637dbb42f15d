import EventLoop
import Glibc
import Synchronization
@testable import HTTPServer

/// Runs `body` on `loop`'s thread and returns its result.
func runOnLoop<T: Sendable>(_ loop: EventLoop, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { done in loop.execute { done.resume(returning: body()) } }
}

struct PeerError: Error, CustomStringConvertible {
    var description: String
}

/// The client end of a socketpair speaking raw WebSocket frames (built with `ClientFrame`), with
/// blocking reads bounded by a receive timeout so a failing test cannot hang.
final class RawWebSocketPeer {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(fd: Int32, timeoutSeconds: Int = 5) {
        self.fd = fd
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { Glibc.close(fd) }

    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw PeerError(description: "write failed: errno \(errno)") }
            offset += n
        }
    }

    /// Reads more bytes into the buffer; false at end of stream. Throws on timeout or error.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n == 0 { return false }
        guard n > 0 else { throw PeerError(description: "read failed: errno \(errno)") }
        buffer += chunk[0..<n]
        return true
    }

    /// Reads exactly `count` raw bytes.
    func readBytes(_ count: Int) throws -> [UInt8] {
        while buffer.count < count {
            guard try fill() else { throw PeerError(description: "end of stream after \(buffer.count) bytes") }
        }
        defer { buffer.removeFirst(count) }
        return Array(buffer[0..<count])
    }

    /// Reads the next complete server frame; nil when the stream ends first.
    func readFrame() throws -> ServerFrame? {
        while true {
            if let (frame, used) = Self.parse(buffer) {
                buffer.removeFirst(used)
                return frame
            }
            guard try fill() else { return nil }
        }
    }

    /// Reads frames until the stream ends; returns them. Throws on timeout.
    func readUntilEnd() throws -> [ServerFrame] {
        var frames: [ServerFrame] = []
        while let frame = try readFrame() { frames.append(frame) }
        return frames
    }

    /// Parses one unmasked frame at the start of `bytes`.
    static func parse(_ bytes: [UInt8]) -> (ServerFrame, Int)? {
        guard bytes.count >= 2 else { return nil }
        var length = Int(bytes[1] & 0x7F)
        var header = 2
        if length == 126 {
            guard bytes.count >= 4 else { return nil }
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            header = 4
        } else if length == 127 {
            guard bytes.count >= 10 else { return nil }
            length = 0
            for i in 2..<10 { length = length << 8 | Int(bytes[i]) }
            header = 10
        }
        guard bytes.count >= header + length else { return nil }
        let frame = ServerFrame(fin: bytes[0] & 0x80 != 0, opcode: bytes[0] & 0x0F,
                                payload: Array(bytes[header..<(header + length)]), headerLength: header)
        return (frame, header + length)
    }
}

/// Records what a `WebSocketConnection` reports; echoes messages when asked to.
final class RecordingDelegate: WebSocketConnectionDelegate, Sendable {
    struct State: Sendable {
        var messages: [WebSocketMessage] = []
        var closes: [WebSocketCloseCode?] = []
        var drains = 0
    }

    let state = Mutex(State())
    let echo: Bool
    /// When set, the delegate closes the connection with this code on the first message (after echoing it).
    let closeOnMessage: WebSocketCloseCode?

    init(echo: Bool = true, closeOnMessage: WebSocketCloseCode? = nil) {
        self.echo = echo
        self.closeOnMessage = closeOnMessage
    }

    var snapshot: State { state.withLock { $0 } }

    func webSocket(_ connection: WebSocketConnection, didReceive kind: WebSocketMessage.Kind, payload: UnsafeRawBufferPointer) {
        state.withLock { $0.messages.append(WebSocketMessage(kind: kind, payload: Array(payload))) }
        if echo { connection.send(kind, payload: payload) }
        if let closeOnMessage { connection.close(code: closeOnMessage, reason: "closing on message") }
    }

    func webSocketDidDrain(_ connection: WebSocketConnection) {
        state.withLock { $0.drains += 1 }
    }

    func webSocketDidClose(_ connection: WebSocketConnection, code: WebSocketCloseCode?) {
        state.withLock { $0.closes.append(code) }
    }
}

/// A `WebSocketConnection` on its own loop, connected to a `RawWebSocketPeer` through a socketpair.
struct WebSocketTestSetup {
    let loop: EventLoop
    let peer: RawWebSocketPeer
    let connection: WebSocketConnection
    let delegate: RecordingDelegate

    /// `beforeStart` runs after the pair exists and before `start()`, to put bytes in the socket early.
    static func make(
        configuration: WebSocketConnection.Configuration = .init(),
        pendingInput: [UInt8] = [], unsent: [UInt8] = [], delegate: RecordingDelegate = RecordingDelegate(),
        beforeStart: (RawWebSocketPeer) throws -> Void = { _ in }
    ) async throws -> WebSocketTestSetup {
        // The tests close peers on purpose: a write to them must fail with EPIPE, not kill the runner.
        signal(SIGPIPE, SIG_IGN)
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw PeerError(description: "socketpair failed")
        }
        _ = fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK)
        let loop = try EventLoop()
        let peer = RawWebSocketPeer(fd: pair[1])
        try beforeStart(peer)
        let serverFD = pair[0]
        let started = await runOnLoop(loop) { () -> Result<WebSocketConnection, PeerError> in
            let connection = WebSocketConnection(fd: serverFD, pendingInput: pendingInput, unsent: unsent, loop: loop,
                                                 configuration: configuration, id: 7)
            connection.delegate = delegate
            do {
                try connection.start()
                return .success(connection)
            } catch {
                return .failure(PeerError(description: "start failed: \(error)"))
            }
        }
        return WebSocketTestSetup(loop: loop, peer: peer, connection: try started.get(), delegate: delegate)
    }

    /// Waits (polling) until `condition` holds on the delegate's state, up to `seconds`.
    func waitFor(seconds: Double = 5, _ condition: (RecordingDelegate.State) -> Bool) async -> Bool {
        let deadline = Monotonic.now + UInt64(seconds * 1e9)
        while Monotonic.now < deadline {
            if condition(delegate.snapshot) { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return condition(delegate.snapshot)
    }

    func isOpen() async -> Bool {
        let connection = self.connection
        return await runOnLoop(loop) { connection.isOpen }
    }

    func shutdown() {
        loop.shutdown()
    }
}
