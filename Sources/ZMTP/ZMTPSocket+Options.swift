extension ZMTPSocket {
    /// Tuning of a `ZMTPSocket`; the defaults suit a kernel on the same host.
    public struct Options: Sendable, Equatable {
        /// Wait before the first reconnection attempt after a failure or disconnect. Default 5 ms: kernels bind
        /// their ports after we connect, and restart on the same ports.
        public var reconnectInterval: Duration
        /// The interval doubles after each failed attempt up to this. Default 10 ms.
        public var reconnectIntervalMax: Duration
        /// A connection that has not completed its handshake (TCP connect, greetings, READY) by then is dropped
        /// and retried. Default 30 s.
        public var handshakeTimeout: Duration
        /// Messages queued towards the peer (complete, not yet completely written) at which `send` refuses a new
        /// message. Default 10,000.
        public var sendHighWaterMark: Int
        /// Bounds on what the peer may send.
        public var limits: ZMTPLimits
        /// Reads (of up to 64 KiB) per readiness wake-up; level-triggered epoll brings us back for the rest.
        public var readsPerWakeup: Int
        /// For `ipc://` endpoints: the uid the listening process must run as (`SO_PEERCRED`). A connection to a
        /// socket of anybody else (a path a kernel redirected with a symbolic link, say) is dropped before a
        /// byte is exchanged, counted in `peerRefusals`, and retried later. Nil: no check.
        public var expectedPeerUID: UInt32?

        public init(reconnectInterval: Duration = .milliseconds(5), reconnectIntervalMax: Duration = .milliseconds(10),
                    handshakeTimeout: Duration = .seconds(30), sendHighWaterMark: Int = 10_000,
                    limits: ZMTPLimits = ZMTPLimits(), readsPerWakeup: Int = 4, expectedPeerUID: UInt32? = nil) {
            self.expectedPeerUID = expectedPeerUID
            self.reconnectInterval = reconnectInterval
            self.reconnectIntervalMax = max(reconnectInterval, reconnectIntervalMax)
            self.handshakeTimeout = handshakeTimeout
            self.sendHighWaterMark = max(1, sendHighWaterMark)
            self.limits = limits
            self.readsPerWakeup = max(1, readsPerWakeup)
        }
    }
}
