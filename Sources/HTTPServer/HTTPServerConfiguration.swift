/// Limits and timeouts of the HTTP server. Defaults suit a gateway on loopback or behind a proxy.
public struct HTTPServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var limits: HTTPRequestParser.Limits
    /// Seconds a connection may stay silent between requests (nothing being answered) before it is closed.
    public var idleTimeoutSeconds: Int
    /// Time from a request's first byte until its head (request line and header fields) must be complete; then 408
    /// and the connection closes.
    public var headerTimeout: Duration
    /// Time from the end of a request's head until its body must be complete; then 408 and the connection closes.
    public var bodyTimeout: Duration
    /// After an answer that ends a connection with input possibly unread (a parse error, a request refused on its
    /// head, a timeout), how long the server keeps reading and dropping input before closing, so the client can
    /// read the answer before the close resets the connection.
    public var lingerTimeout: Duration
    /// Open connections at once, upgraded ones (WebSockets) included; more are answered 503 and closed unread.
    public var maxConnections: Int
    /// Open connections from one client address (IP, any port), upgraded ones included; more are answered 503.
    public var maxConnectionsPerAddress: Int
    /// Requests parsed but not yet answered on one connection before the server stops reading from it.
    public var maxPipelinedRequests: Int
    /// Bytes queued towards one HTTP client before its reads are paused.
    public var outboundHighWaterMark: Int

    public init(host: String = "127.0.0.1", port: Int = 8888, limits: HTTPRequestParser.Limits = .init(),
                idleTimeoutSeconds: Int = 300, headerTimeout: Duration = .seconds(10),
                bodyTimeout: Duration = .seconds(30), lingerTimeout: Duration = .seconds(2),
                maxConnections: Int = 10_000, maxConnectionsPerAddress: Int = 256,
                maxPipelinedRequests: Int = 32, outboundHighWaterMark: Int = 4 << 20) {
        self.host = host
        self.port = port
        self.limits = limits
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.lingerTimeout = lingerTimeout
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.maxPipelinedRequests = maxPipelinedRequests
        self.outboundHighWaterMark = outboundHighWaterMark
    }
}
