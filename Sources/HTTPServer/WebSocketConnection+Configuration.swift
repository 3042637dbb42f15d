extension WebSocketConnection {
    /// Limits and timers of one WebSocket connection.
    public struct Configuration: Sendable, Equatable {
        /// Largest reassembled incoming message; a larger one fails the connection with 1009.
        public var maxMessageBytes: Int
        /// How long the peer may stay silent before we ping it. A peer that sends nothing at all
        /// (no pong, no data) for two intervals is closed with 1001. Zero or less disables pings
        /// and the silence timeout.
        public var pingInterval: Duration
        /// Outbound bytes past which `isOverHighWater` turns true; `webSocketDidDrain` follows once
        /// the queue is back under a quarter of it.
        public var outboundHighWaterMark: Int
        /// Outbound bytes past which the peer counts as too slow: the connection is closed with
        /// 1008 and `send` returns false. Memory per connection stays under this bound plus one
        /// message.
        public var outboundHardLimit: Int
        /// How long to wait for the peer's close frame after we sent ours (or for a failing peer to
        /// take our last bytes) before dropping the TCP connection.
        public var closeTimeout: Duration

        /// Creates a configuration. `outboundHardLimit` defaults to twice `outboundHighWaterMark`.
        public init(maxMessageBytes: Int = 64 << 20, pingInterval: Duration = .seconds(30),
                    outboundHighWaterMark: Int = 16 << 20, outboundHardLimit: Int? = nil,
                    closeTimeout: Duration = .seconds(5)) {
            self.maxMessageBytes = maxMessageBytes
            self.pingInterval = pingInterval
            self.outboundHighWaterMark = outboundHighWaterMark
            self.outboundHardLimit = outboundHardLimit ?? 2 * outboundHighWaterMark
            self.closeTimeout = closeTimeout
        }
    }
}
