/// Why an upgrade request is not an acceptable WebSocket opening handshake (RFC 6455 section 4.2.1).
public struct WebSocketHandshakeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The method is not GET.
        public static let methodNotGET = Code("methodNotGET")
        /// The request is older than HTTP/1.1.
        public static let unsupportedHTTPVersion = Code("unsupportedHTTPVersion")
        /// `Upgrade` does not contain the `websocket` token.
        public static let missingUpgradeHeader = Code("missingUpgradeHeader")
        /// `Connection` does not contain the `upgrade` token.
        public static let missingConnectionUpgrade = Code("missingConnectionUpgrade")
        /// `Sec-WebSocket-Version` is missing or not 13.
        public static let unsupportedVersion = Code("unsupportedVersion")
        /// `Sec-WebSocket-Key` is missing, repeated, or not base64 of 16 bytes.
        public static let invalidKey = Code("invalidKey")

        public var description: String { name }
    }

    /// The class of failure.
    public let code: Code
    /// Human-readable explanation, safe to send to the client.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The status to answer with: 405 for a non-GET method, 426 (with `Sec-WebSocket-Version: 13`)
    /// for an unsupported version, 400 otherwise.
    public var status: HTTPStatus {
        switch code {
        case .methodNotGET: .methodNotAllowed
        case .unsupportedVersion: .upgradeRequired
        default: .badRequest
        }
    }

    /// The error to answer with (`status`, `message`, and the header the status needs); the connection should be
    /// closed after it. Render it with the application's `HTTPResponder.response(for:)`.
    public var httpError: HTTPError {
        var headers = HTTPHeaders()
        if code == .unsupportedVersion { headers.add(name: "Sec-WebSocket-Version", value: "13") }
        if code == .methodNotGET { headers.add(name: "Allow", value: "GET") }
        return HTTPError(status, message: message, headers: headers)
    }

    public var description: String { "\(code): \(message)" }
}
