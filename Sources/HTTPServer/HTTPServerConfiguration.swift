/// Limits and timeouts of the HTTP server. Defaults suit a gateway on loopback or behind a proxy.
public struct HTTPServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var limits: HTTPRequestParser.Limits
    /// Seconds a connection may stay silent between requests before it is closed.
    public var idleTimeoutSeconds: Int
    /// Requests parsed but not yet answered on one connection before the server stops reading from it.
    public var maxPipelinedRequests: Int
    /// Bytes queued towards one HTTP client before its reads are paused.
    public var outboundHighWaterMark: Int

    public init(host: String = "127.0.0.1", port: Int = 8888, limits: HTTPRequestParser.Limits = .init(),
                idleTimeoutSeconds: Int = 300, maxPipelinedRequests: Int = 32,
                outboundHighWaterMark: Int = 4 << 20) {
        self.host = host
        self.port = port
        self.limits = limits
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.maxPipelinedRequests = maxPipelinedRequests
        self.outboundHighWaterMark = outboundHighWaterMark
    }
}
