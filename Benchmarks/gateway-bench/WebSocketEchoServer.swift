import Dispatch
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

    /// Runs the server until SIGINT/SIGTERM. Returns the process exit status. Call from the main thread.
    ///
    /// Deliberately synchronous: with an async `main`, the main thread ends up in libdispatch's
    /// `sigsuspend` with an empty signal mask, so SIGTERM would hit its default action there instead of the
    /// signalfd. Here the main thread blocks the signals before any other thread exists and then waits on
    /// a semaphore with the signals still blocked.
    static func run(_ arguments: [String]) -> Int32 {
        // Every thread started later inherits the mask, so the signals arrive only through the signalfd.
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
        } catch {
            FileHandleStderr.write("gateway-bench ws-echo: \(error)\n")
            return 1
        }
        let startError = waitFor { () -> String? in
            do {
                try await server.start()
                return nil
            } catch {
                return "\(error)"
            }
        }
        if let startError {
            FileHandleStderr.write("gateway-bench ws-echo: \(startError)\n")
            group.shutdown()
            return 1
        }
        print("listening on \(server.port)")
        fflush(nil)  // all streams; `stdout` itself is not concurrency-safe to name
        waitForSignal(on: group.loops[0])
        waitFor { await server.stop() }
        group.shutdown()
        return 0
    }

    /// Runs `body` in a task and blocks the calling (main) thread until it returns.
    private static func waitFor<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let result = Mutex<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let value = await body()
            result.withLock { $0 = value }
            done.signal()
        }
        while true {
            done.wait()
            if let value = result.withLock({ $0 }) { return value }
        }
    }

    private static func waitForSignal(on loop: EventLoop) {
        let received = DispatchSemaphore(value: 0)
        loop.execute {
            do {
                _ = try SignalWatcher(loop: loop) { _ in received.signal() }
            } catch {
                FileHandleStderr.write("gateway-bench ws-echo: \(error)\n")
                received.signal()
            }
        }
        received.wait()
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
            return .response(error.httpError.plainTextResponse)
        }
        let configuration = self.configuration
        let handler = self.handler
        return .upgrade(handshake.response()) { socket in
            let connection = WebSocketConnection(fd: socket.fd, pendingInput: socket.pendingInput, unsent: socket.unsent,
                                                 loop: socket.loop, configuration: configuration, id: peer.connectionID,
                                                 lease: socket.lease)
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
