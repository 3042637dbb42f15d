import EventLoop

/// What the application answers to one request.
public enum HTTPServerResponse: Sendable {
    /// An ordinary response.
    case response(HTTPResponse)
    /// Switch protocols: the server writes `response` (a 101) and then hands the socket to `handler`, which runs on
    /// the loop that owned the connection and takes ownership of the descriptor.
    case upgrade(HTTPResponse, handler: @Sendable (UpgradedSocket) -> Void)
}

/// A connection taken over by another protocol (WebSocket) after a 101 response.
public struct UpgradedSocket: Sendable {
    /// The descriptor; the receiver owns it and must close it.
    public let fd: Int32
    /// Bytes received after the request head; they belong to the new protocol.
    public let pendingInput: [UInt8]
    /// Response bytes not yet written to the socket (usually empty); write them first.
    public let unsent: [UInt8]
    /// The loop the socket was on.
    public let loop: EventLoop
    /// The connection's place in the server's connection limits: release it when closing the descriptor
    /// (`WebSocketConnection` does), or the place stays taken until the lease is deallocated.
    public let lease: ConnectionLease?
}

/// Answers HTTP requests. Called concurrently for different connections (in order for one connection); must not
/// block a thread.
public protocol HTTPResponder: Sendable {
    /// Answers a complete request (body included). Requests of one connection are answered in order.
    func respond(to request: HTTPRequest, peer: PeerInfo) async -> HTTPServerResponse

    /// Decides on a request from its head alone (method, target, header fields; `head.body` is empty), before the
    /// server reads any of the body: `.proceed` (optionally with a lower body bound) or `.reject` with the answer,
    /// so that e.g. an unauthenticated client cannot make the server buffer a body. Called for every request, on
    /// the connection's loop thread: must not block. Defaults to `.proceed`.
    func authorizeHead(_ head: HTTPRequest, peer: PeerInfo) -> HTTPHeadDecision

    /// Counts something the server did on its own (a refused connection, a timed-out request). Called on any loop
    /// thread: must not block. Defaults to nothing.
    func observe(_ event: HTTPServerEvent)

    /// Renders an error the server answers by itself (a request it could not parse), in the application's error
    /// format. Called on the connection's loop thread: must not block. Defaults to `error.plainTextResponse`.
    func response(for error: HTTPError) -> HTTPResponse
}

extension HTTPResponder {
    public func response(for error: HTTPError) -> HTTPResponse { error.plainTextResponse }
    public func authorizeHead(_ head: HTTPRequest, peer: PeerInfo) -> HTTPHeadDecision { .proceed }
    public func observe(_ event: HTTPServerEvent) {}
}

/// Facts about the requesting connection.
public struct PeerInfo: Sendable {
    /// The server's identifier of the connection.
    public let connectionID: UInt64
    /// "host:port" of the client, when known.
    public let remoteAddress: String?

    public init(connectionID: UInt64, remoteAddress: String? = nil) {
        self.connectionID = connectionID
        self.remoteAddress = remoteAddress
    }
}
