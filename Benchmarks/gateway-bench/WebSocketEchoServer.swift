import EventLoop
import Glibc
import HTTPServer
import Logging
import Synchronization

/// `gateway-bench ws-echo`: a WebSocket echo server on `HTTPServer` + `WebSocketConnection`, for the RFC 6455
/// conformance run (Autobahn fuzzingclient) and for load tests. Every path upgrades; every message comes back
/// with its kind. Prints `listening on PORT` once it accepts; SIGINT or SIGTERM stop it.
enum WebSocketEchoServer {
    static let usage = """
        ws-echo --port P [--host H] [--loops N] [--max-message-bytes N] [--ping-interval SECONDS]
            WebSocket echo server (any path). Prints "listening on PORT" when ready.
        """

    struct Options {
        var host = "127.0.0.1"
        var port = 0
        var loops = 1
        var connection = WebSocketConnection.Configuration()
    }

    /// Parses `arguments` (after the mode name); nil with a message on stderr when they are wrong.
    static func parse(_ arguments: [String]) -> Options? {
        var options = Options()
        var index = 0
        func value() -> String? {
            index += 1
            return index < arguments.count ? arguments[index] : nil
        }
        while index < arguments.count {
            let flag = arguments[index]
            switch flag {
            case "--host":
                guard let v = value() else { return fail("--host needs a value") }
                options.host = v
            case "--port":
                guard let v = value(), let port = Int(v), (0...65535).contains(port) else { return fail("bad --port") }
                options.port = port
            case "--loops":
                guard let v = value(), let loops = Int(v), loops > 0 else { return fail("bad --loops") }
                options.loops = loops
            case "--max-message-bytes":
                guard let v = value(), let bytes = Int(v), bytes > 0 else { return fail("bad --max-message-bytes") }
                options.connection.maxMessageBytes = bytes
            case "--ping-interval":
                guard let v = value(), let seconds = Double(v), seconds >= 0 else { return fail("bad --ping-interval") }
                options.connection.pingInterval = .milliseconds(Int64(seconds * 1000))
            default:
                return fail("unknown option \(flag)")
            }
            index += 1
        }
        return options
    }

    private static func fail(_ message: String) -> Options? {
        FileHandleStderr.write("gateway-bench ws-echo: \(message)\nusage: gateway-bench \(usage)\n")
        return nil
    }

    /// Runs the server until SIGINT/SIGTERM. Returns the process exit status.
    static func run(_ arguments: [String]) async -> Int32 {
        // Before any thread exists, so every thread inherits the mask and signals arrive only via signalfd.
        do {
            try SignalWatcher.block([SIGINT, SIGTERM])
        } catch {
            FileHandleStderr.write("gateway-bench ws-echo: \(error)\n")
            return 1
        }
        // A peer that resets its connection must cost an EPIPE, not the process.
        signal(SIGPIPE, SIG_IGN)
        guard let options = parse(arguments) else { return 2 }
        let group: EventLoopGroup
        let server: HTTPServer
        do {
            group = try EventLoopGroup(count: options.loops)
            let responder = EchoResponder(configuration: options.connection, handler: EchoHandler())
            let logger = Logger(label: "ws-echo", handler: JSONLinesLogHandler(minimumLevel: .warning))
            server = try HTTPServer(group: group, configuration: HTTPServerConfiguration(host: options.host, port: options.port),
                                    responder: responder, logger: logger)
            try await server.start()
        } catch {
            FileHandleStderr.write("gateway-bench ws-echo: \(error)\n")
            return 1
        }
        print("listening on \(server.port)")
        fflush(nil)  // all streams; `stdout` itself is not concurrency-safe to name
        await waitForSignal(on: group.loops[0])
        await server.stop()
        group.shutdown()
        return 0
    }

    private static func waitForSignal(on loop: EventLoop) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let pending = Mutex<CheckedContinuation<Void, Never>?>(done)
            let finish: @Sendable () -> Void = { pending.withLock { $0.take() }?.resume() }
            loop.execute {
                do {
                    _ = try SignalWatcher(loop: loop) { _ in finish() }
                } catch {
                    FileHandleStderr.write("gateway-bench ws-echo: \(error)\n")
                    finish()
                }
            }
        }
    }
}

/// Upgrades every request that is a valid WebSocket handshake; answers others with the handshake error (400,
/// or 405/426 for a wrong method or version).
struct EchoResponder: HTTPResponder {
    let configuration: WebSocketConnection.Configuration
    let handler: EchoHandler

    func respond(to request: HTTPRequest, peer: PeerInfo) async -> HTTPServerResponse {
        let handshake: WebSocketHandshake
        do {
            handshake = try WebSocketHandshake(request: request)
        } catch {
            return .response(error.response)
        }
        let configuration = self.configuration
        let handler = self.handler
        return .upgrade(handshake.response()) { socket in
            let connection = WebSocketConnection(fd: socket.fd, pendingInput: socket.pendingInput, unsent: socket.unsent,
                                                 loop: socket.loop, configuration: configuration, id: peer.connectionID)
            connection.delegate = handler
            // On failure start() closes the descriptor; the client sees the connection drop.
            try? connection.start()
        }
    }
}

/// Echoes each message with its kind; stops reading from a client that does not keep up with its echoes.
final class EchoHandler: WebSocketConnectionDelegate, Sendable {
    func webSocket(_ connection: WebSocketConnection, didReceive kind: WebSocketMessage.Kind, payload: UnsafeRawBufferPointer) {
        connection.send(kind, payload: payload)
        if connection.isOverHighWater { connection.pauseReading() }
    }

    func webSocketDidDrain(_ connection: WebSocketConnection) {
        connection.resumeReading()
    }

    func webSocketDidClose(_ connection: WebSocketConnection, code: WebSocketCloseCode?) {}
}

/// Unbuffered writes to standard error.
enum FileHandleStderr {
    static func write(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
