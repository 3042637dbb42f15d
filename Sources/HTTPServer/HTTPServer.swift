import EventLoop
import Logging
import Synchronization

/// The HTTP/1.1 server: one listening socket on the group's first loop; accepted connections are spread over
/// the loops round-robin and served by `HTTPConnection`.
public final class HTTPServer: Sendable {
    public let group: EventLoopGroup
    public let configuration: HTTPServerConfiguration
    private let responder: any HTTPResponder
    private let logger: Logger
    private let listener: TCPListener
    private let connections = Mutex<[UInt64: HTTPConnection]>([:])
    private let nextID = Atomic<UInt64>(1)

    /// Binds the listening socket (throws `SystemError`, e.g. `EADDRINUSE`). Call `start()` to accept.
    public init(group: EventLoopGroup, configuration: HTTPServerConfiguration, responder: any HTTPResponder,
                logger: Logger) throws {
        self.group = group
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
        listener = try TCPListener(host: configuration.host, port: configuration.port, loop: group.loops[0])
    }

    /// The bound port.
    public var port: Int { listener.port }

    /// Starts accepting connections.
    public func start() async throws {
        let listener = self.listener
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, Error>) in
            listener.loop.execute { [self] in
                do {
                    try listener.startAccepting { [self] fd in accept(fd) }
                    done.resume()
                } catch {
                    done.resume(throwing: error)
                }
            }
        }
    }

    /// Stops accepting and closes idle connections; connections in the middle of a request finish it first.
    public func stop() async {
        let listener = self.listener
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            listener.loop.execute {
                listener.close()
                done.resume()
            }
        }
        let all = connections.withLock { Array($0.values) }
        for connection in all {
            connection.loop.execute { connection.closeWhenIdle() }
        }
    }

    private func accept(_ fd: Int32) {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let loop = group.next()
        loop.execute { [self] in
            let connection = HTTPConnection(id: id, fd: fd, loop: loop, configuration: configuration,
                                            responder: responder, logger: logger) { [self] id in
                _ = connections.withLock { $0.removeValue(forKey: id) }
            }
            connections.withLock { $0[id] = connection }
            connection.start()
        }
    }
}
