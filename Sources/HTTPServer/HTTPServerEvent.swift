/// Something the server did on its own, without the application's handler: reported to
/// `HTTPResponder.observe(_:)`, e.g. for metrics.
public enum HTTPServerEvent: Sendable, Equatable {
    /// Which connection limit a refused connection hit.
    public enum Refusal: Sendable, Equatable {
        /// `maxConnectionsPerAddress` connections from the client's address are open.
        case perAddress
        /// `maxConnections` connections are open.
        case total
    }

    /// A new connection was refused before anything was read from it (503, then closed).
    case connectionRefused(Refusal)
    /// A request's head (`.head`) or body (`.body`) did not arrive within its deadline (408, then closed).
    case requestTimedOut(HTTPRequestParser.Stage)
}
