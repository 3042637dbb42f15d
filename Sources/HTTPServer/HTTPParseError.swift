/// Why a request could not be parsed or was refused by the parser's limits or the connection's deadlines.
///
/// A struct with a nested `Code` so new codes can be added without breaking exhaustive switches.
/// Each code maps to the status the server should answer with before closing the connection.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case badRequest, headersTooLarge, bodyTooLarge, uriTooLong, requestTimeout
        }
        private let value: Value

        /// Malformed HTTP (http_parser error), bad URL encoding, or a connection closed mid-request.
        public static let badRequest = Code(value: .badRequest)
        /// Request line plus header fields exceed `maxHeaderBytes` (or http_parser's own 80 KiB cap).
        public static let headersTooLarge = Code(value: .headersTooLarge)
        /// Declared or received body exceeds `maxBodyBytes`.
        public static let bodyTooLarge = Code(value: .bodyTooLarge)
        /// The request target exceeds `maxURLLength`.
        public static let uriTooLong = Code(value: .uriTooLong)
        /// The head or the body did not arrive within its deadline (reported by the connection, not the parser).
        public static let requestTimeout = Code(value: .requestTimeout)

        public var description: String {
            switch value {
            case .badRequest: "badRequest"
            case .headersTooLarge: "headersTooLarge"
            case .bodyTooLarge: "bodyTooLarge"
            case .uriTooLong: "uriTooLong"
            case .requestTimeout: "requestTimeout"
            }
        }
    }

    /// The class of failure.
    public let code: Code
    /// A short machine-oriented detail: the http_parser error name (e.g. `HPE_INVALID_METHOD`) for
    /// protocol errors, or a phrase describing the exceeded limit or decoding problem.
    public let detail: String

    /// Creates an error.
    public init(_ code: Code, detail: String) {
        self.code = code
        self.detail = detail
    }

    /// The status to answer with: 400, 431, 413, 414 or 408.
    public var status: HTTPStatus {
        switch code {
        case .headersTooLarge: .requestHeaderFieldsTooLarge
        case .bodyTooLarge: .payloadTooLarge
        case .uriTooLong: .uriTooLong
        case .requestTimeout: .requestTimeout
        default: .badRequest
        }
    }

    /// What the server answers (then it closes the connection): the status, its reason phrase as the message,
    /// and `detail`.
    public var httpError: HTTPError {
        HTTPError(status, message: status.reasonPhrase, detail: detail)
    }

    public var description: String { "\(code): \(detail)" }
}
