/// Why a ZMTP peer was dropped: the peer broke the protocol, exceeded a limit, or sent an ERROR command.
///
/// A struct with a nested `Code` (not an enum) so new codes do not break users that switch over them.
public struct ZMTPProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The class of violation; compare with the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The greeting's signature is not 0xFF, 8 padding bytes, 0x7F.
        public static let badSignature = Code("bad_signature")
        /// The peer speaks ZMTP before 3.0.
        public static let unsupportedVersion = Code("unsupported_version")
        /// The peer's security mechanism is not NULL.
        public static let unsupportedMechanism = Code("unsupported_mechanism")
        /// Reserved flag bits set, a command with MORE, or a size that cannot be represented.
        public static let malformedFrame = Code("malformed_frame")
        /// A command body that does not parse (bad name, ERROR or READY layout, PING without TTL).
        public static let malformedCommand = Code("malformed_command")
        /// A message larger than `ZMTPLimits.maxMessageBytes`.
        public static let messageTooLarge = Code("message_too_large")
        /// A message with more than `ZMTPLimits.maxFramesPerMessage` frames.
        public static let tooManyFrames = Code("too_many_frames")
        /// A command larger than `ZMTPLimits.maxCommandBytes`.
        public static let commandTooLarge = Code("command_too_large")
        /// A command or message where the protocol does not allow one (e.g. a message before READY, a second
        /// READY, a command between the frames of a message).
        public static let unexpected = Code("unexpected")
        /// The peer's READY names no socket type, or one our socket cannot talk to.
        public static let incompatibleSocketType = Code("incompatible_socket_type")
        /// The peer sent an ERROR command (its reason is in the message).
        public static let peerError = Code("peer_error")
    }

    public let code: Code
    /// Human-readable detail for logs.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "ZMTP \(code): \(message)" }
}
