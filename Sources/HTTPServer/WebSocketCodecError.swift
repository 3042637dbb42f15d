/// Why a `WebSocketCodec` could not queue an outgoing message.
public struct WebSocketCodecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// A close frame was already queued or sent; nothing more can be sent.
        public static let closed = Code("closed")
        /// The message is not valid: a control payload over 125 bytes, a close reason over 123
        /// bytes, or a close code that may not be sent.
        public static let invalidArgument = Code("invalidArgument")
        /// The codec library could not allocate memory.
        public static let outOfMemory = Code("outOfMemory")
        /// The codec library could not be initialized.
        public static let initializationFailed = Code("initializationFailed")

        public var description: String { name }
    }

    /// The class of failure.
    public let code: Code
    /// Detail for logs.
    public let detail: String

    /// Creates an error.
    public init(_ code: Code, detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code): \(detail)" }
}
