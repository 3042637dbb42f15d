extension ZMTPSocket {
    /// What happened on a socket so far (for tests and metrics).
    public struct Counters: Sendable, Equatable {
        /// Connection attempts started (each `connect(2)`).
        public var connectAttempts = 0
        /// Transport connections established.
        public var connects = 0
        /// Handshakes completed (READY exchanged).
        public var handshakes = 0
        /// Established connections that ended (peer closed, I/O error, protocol error, handshake timeout).
        public var disconnects = 0
        /// Connections dropped for a protocol error, including a peer's ERROR command.
        public var protocolErrors = 0
        /// Connections dropped because the handshake did not complete in time.
        public var handshakeTimeouts = 0
        /// Messages delivered to `onMessage`.
        public var messagesReceived = 0
        /// Messages accepted by `send`.
        public var messagesSent = 0
        /// `ipc://` connections dropped because the listener was not `Options.expectedPeerUID`.
        public var peerRefusals = 0
    }
}
