import EventLoop
import Glibc
import HTTPServer

/// What a `BenchWebSocket` tells its owner; every call happens on the socket's loop thread.
protocol BenchWebSocketDelegate: AnyObject {
    /// The opening handshake completed (`subprotocol` is what the server selected, if anything).
    func webSocketDidOpen(_ socket: BenchWebSocket, subprotocol: String?)
    /// A complete data message; the payload is valid only during the call.
    func webSocket(_ socket: BenchWebSocket, didReceive payload: UnsafeRawBufferPointer, text: Bool)
    /// The connection ended; `error` is nil after a clean close handshake that we started.
    func webSocketDidClose(_ socket: BenchWebSocket, error: String?)
}

/// A client WebSocket on one `EventLoop`: blocking loopback connect, non-blocking I/O through `TCPConnection`,
/// the RFC 6455 opening handshake (key, `Sec-WebSocket-Accept` check, optional subprotocol), then framing by
/// `ClientWebSocketCodec`. Outbound messages accumulate until `flush()` so a burst of requests is one `write`.
///
/// Loop-bound: after `init`, every method runs on `loop`'s thread.
final class BenchWebSocket: TCPConnectionDelegate, @unchecked Sendable {
    // @unchecked Sendable, audited: all mutable state is touched on `loop`'s thread only (the handler closures
    // the loop runs, and callers that are themselves loop-bound); `init` only stores immutable values.
    let loop: EventLoop
    weak var delegate: (any BenchWebSocketDelegate)?
    private(set) var isOpen = false
    private(set) var isClosed = false

    private var connection: TCPConnection?
    private let codec = ClientWebSocketCodec()
    private var handshakeBuffer: [UInt8] = []
    private let expectedAccept: String
    private let requestHead: [UInt8]
    private var closeStarted = false

    /// Prepares the handshake for `path` (already including the query) on `url`. Any thread.
    init(loop: EventLoop, url: GatewayURL, path: String, token: String?, subprotocol: String?) {
        self.loop = loop
        var keyBytes = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for i in 0..<16 { keyBytes[i] = generator.next() }
        let key = BenchBase64.encode(keyBytes)
        expectedAccept = WebSocketHandshake.acceptValue(forKey: key)
        var head = "GET \(path) HTTP/1.1\r\nHost: \(url.hostHeader)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        head += "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
        if let token { head += "Authorization: token \(token)\r\n" }
        if let subprotocol { head += "Sec-WebSocket-Protocol: \(subprotocol)\r\n" }
        head += "\r\n"
        requestHead = Array(head.utf8)
    }

    /// Starts the handshake on an already connected descriptor (made non-blocking here). Loop thread.
    func start(fd: Int32) {
        loop.preconditionInEventLoop()
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        let tcp = TCPConnection(fd: fd, loop: loop, highWaterMark: 64 << 20)
        tcp.delegate = self
        connection = tcp
        do { try tcp.start() } catch {
            fail("register: \(error)")
            return
        }
        tcp.write(requestHead)
    }

    // MARK: - Sending

    /// Queues a text message (sent at the next `flush`).
    func queueText(_ payload: UnsafeRawBufferPointer) { if isOpen && !closeStarted { codec.appendText(payload) } }

    /// Queues a binary message (sent at the next `flush`).
    func queueBinary(_ payload: UnsafeRawBufferPointer) { if isOpen && !closeStarted { codec.appendBinary(payload) } }

    /// Writes everything queued.
    func flush() {
        guard let connection, !codec.output.isEmpty else { return }
        codec.output.withUnsafeBytes { connection.write($0) }
        codec.consumeOutput(codec.output.count)
    }

    /// Bytes accepted by `write` but not yet taken by the kernel's socket buffer.
    var queuedBytes: Int { connection?.queuedBytes ?? 0 }

    /// Starts the closing handshake; the delegate hears `webSocketDidClose(error: nil)` when the server answers
    /// (or the TCP connection ends). Closes at once if the handshake never completed.
    func close() {
        guard !isClosed else { return }
        guard isOpen else {
            connection?.close()
            return
        }
        closeStarted = true
        codec.appendClose(code: 1000)
        flush()
    }

    /// Drops the connection without a closing handshake.
    func abort() { connection?.close() }

    // MARK: - TCPConnectionDelegate

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer) {
        if isOpen {
            receiveFrames(bytes)
        } else {
            handshakeBuffer.append(contentsOf: bytes)
            handleHandshakeResponse()
        }
    }

    func connectionDidDrain(_ connection: TCPConnection) {}

    func connectionDidClose(_ connection: TCPConnection) {
        guard !isClosed else { return }
        isClosed = true
        isOpen = false
        let clean = codec.closeSent && codec.closeReceived && closeStarted
        delegate?.webSocketDidClose(self, error: clean ? nil : (pendingError ?? "connection closed by the server"))
    }

    private var pendingError: String?

    private func fail(_ message: String) {
        if pendingError == nil { pendingError = message }
        if let connection { connection.close() } else if !isClosed {
            isClosed = true
            delegate?.webSocketDidClose(self, error: message)
        }
    }

    private func receiveFrames(_ bytes: UnsafeRawBufferPointer) {
        do {
            try codec.receive(bytes) { event in
                switch event {
                case .text(let payload): delegate?.webSocket(self, didReceive: payload, text: true)
                case .binary(let payload): delegate?.webSocket(self, didReceive: payload, text: false)
                case .pong: break
                case .close(let code):
                    if !closeStarted { pendingError = "server closed the WebSocket (\(code.map(String.init) ?? "no code"))" }
                }
            }
        } catch {
            codec.appendClose(code: error.code)
            flush()
            fail(error.description)
            return
        }
        flush()
        if codec.closeReceived { connection?.closeAfterFlushing() }
    }

    private func handleHandshakeResponse() {
        guard let end = BlockingHTTPClient.find(handshakeBuffer, [13, 10, 13, 10], from: 0) else {
            if handshakeBuffer.count > 65536 { fail("handshake response head too large") }
            return
        }
        let head = String(decoding: handshakeBuffer[0..<end], as: UTF8.self)
        let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let status = lines.first.map { $0.split(separator: " ") } ?? []
        guard status.count >= 2, status[1] == "101" else {
            fail("handshake refused: \(lines.first.map(String.init) ?? "no status line")")
            return
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            headers[name] = String(value.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
        }
        guard headers["upgrade"]?.lowercased() == "websocket",
              headers["connection"]?.lowercased().split(separator: ",").contains(where: { $0.trimmingSpaces == "upgrade" }) == true
        else {
            fail("handshake response lacks Upgrade: websocket / Connection: upgrade")
            return
        }
        guard headers["sec-websocket-accept"] == expectedAccept else {
            fail("Sec-WebSocket-Accept mismatch")
            return
        }
        guard headers["sec-websocket-extensions"] == nil else {
            fail("server selected an extension we did not offer")
            return
        }
        let rest = Array(handshakeBuffer[(end + 4)...])
        handshakeBuffer = []
        isOpen = true
        delegate?.webSocketDidOpen(self, subprotocol: headers["sec-websocket-protocol"])
        if !rest.isEmpty { rest.withUnsafeBytes { receiveFrames($0) } }
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
