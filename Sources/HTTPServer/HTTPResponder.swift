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
}

/// Answers HTTP requests. Called concurrently for different connections (in order for one connection); must not
/// block a thread.
public protocol HTTPResponder: Sendable {
    func respond(to request: HTTPRequest, peer: PeerInfo) async -> HTTPServerResponse

    /// Renders an error the server answers by itself (a request it could not parse), in the application's error
    /// format. Called on the connection's loop thread: must not block. Defaults to `error.plainTextResponse`.
    func response(for error: HTTPError) -> HTTPResponse
}

extension HTTPResponder {
    public func response(for error: HTTPError) -> HTTPResponse { error.plainTextResponse }
}

/// Facts about the requesting connection.
public struct PeerInfo: Sendable {
    public let connectionID: UInt64
    /// "host:port" of the client, when known.
    public let remoteAddress: String?

    public init(connectionID: UInt64, remoteAddress: String? = nil) {
        self.connectionID = connectionID
        self.remoteAddress = remoteAddress
    }
}
