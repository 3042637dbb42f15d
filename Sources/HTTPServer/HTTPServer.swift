import EventLoop
import Glibc
import Logging
import Synchronization

/// The HTTP/1.1 server: one listening socket on the group's first loop; accepted connections are spread over
/// the loops round-robin and served by `HTTPConnection`.
///
/// Connection limits (`maxConnections`, `maxConnectionsPerAddress`) are checked on accept: a connection over a
/// limit is answered 503 (rendered by `HTTPResponder.response(for:)`) and closed without reading anything from it.
/// Upgraded connections keep counting until their owner closes them (`UpgradedSocket.lease`).
public final class HTTPServer: Sendable {
    public let group: EventLoopGroup
    public let configuration: HTTPServerConfiguration
    private let responder: any HTTPResponder
    private let logger: Logger
    private let listener: TCPListener
    private let connections = Mutex<[UInt64: HTTPConnection]>([:])
    private let nextID = Atomic<UInt64>(1)
    private let limiter: ConnectionLimiter

    /// Binds the listening socket (throws `SystemError`, e.g. `EADDRINUSE`). Call `start()` to accept.
    public init(group: EventLoopGroup, configuration: HTTPServerConfiguration, responder: any HTTPResponder,
                logger: Logger) throws {
        self.group = group
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
        limiter = ConnectionLimiter(maxTotal: configuration.maxConnections,
                                    maxPerAddress: configuration.maxConnectionsPerAddress)
        listener = try TCPListener(host: configuration.host, port: configuration.port, loop: group.loops[0])
    }

    /// The bound port.
    public var port: Int { listener.port }

    /// Open connections, upgraded ones included (what `maxConnections` limits).
    public var openConnections: Int { limiter.total }

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
        let address = PeerAddress.hostAndPort(of: fd)
        let lease: ConnectionLease
        switch limiter.admit(address?.host ?? "") {
        case .admitted(let admitted):
            lease = admitted
        case .refused(let refusal):
            refuse(fd, refusal)
            return
        }
        let remoteAddress = address.map { PeerAddress.text(host: $0.host, port: $0.port) }
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let loop = group.next()
        loop.execute { [self] in
            let connection = HTTPConnection(id: id, fd: fd, remoteAddress: remoteAddress, lease: lease, loop: loop,
                                            configuration: configuration, responder: responder,
                                            logger: logger) { [self] id in
                _ = connections.withLock { $0.removeValue(forKey: id) }
            }
            connections.withLock { $0[id] = connection }
            connection.start()
        }
    }

    /// Answers 503 and closes, on the listener's loop, reading nothing: a refused client costs no buffer, timer or
    /// registration. A client that already sent its request may see a reset instead of the answer.
    private func refuse(_ fd: Int32, _ refusal: HTTPServerEvent.Refusal) {
        responder.observe(.connectionRefused(refusal))
        let detail = switch refusal {
        case .perAddress: "\(limiter.maxPerAddress) connections from this address are open"
        case .total: "\(limiter.maxTotal) connections are open"
        }
        let response = responder.response(for: HTTPError(.serviceUnavailable, message: "too many connections",
                                                          detail: detail))
        let bytes = response.serialized(keepAlive: false)
        // A new socket's empty send buffer takes these few hundred bytes at once; a short write only cuts the answer.
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        Glibc.close(fd)
    }
}
