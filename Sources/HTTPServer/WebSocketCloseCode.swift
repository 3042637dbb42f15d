/// A WebSocket close status code (RFC 6455 section 7.4).
public struct WebSocketCloseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The numeric code.
    public let rawValue: UInt16

    /// Wraps any code; use `isSendable` before putting one on the wire.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// 1000: Normal closure.
    public static let normalClosure = WebSocketCloseCode(rawValue: 1000)
    /// 1001: The endpoint is going away (server shutdown, page navigation).
    public static let goingAway = WebSocketCloseCode(rawValue: 1001)
    /// 1002: Protocol error.
    public static let protocolError = WebSocketCloseCode(rawValue: 1002)
    /// 1003: Data type the endpoint cannot accept.
    public static let unsupportedData = WebSocketCloseCode(rawValue: 1003)
    /// Reserved: means "the close frame had no code"; never sent.
    public static let noStatusReceived = WebSocketCloseCode(rawValue: 1005)
    /// Reserved: means "closed without a close frame"; never sent.
    public static let abnormalClosure = WebSocketCloseCode(rawValue: 1006)
    /// 1007: Message data inconsistent with its type (invalid UTF-8 text).
    public static let invalidPayloadData = WebSocketCloseCode(rawValue: 1007)
    /// 1008: Policy violation (generic refusal, e.g. authorization).
    public static let policyViolation = WebSocketCloseCode(rawValue: 1008)
    /// 1009: Message too big to process.
    public static let messageTooBig = WebSocketCloseCode(rawValue: 1009)
    /// 1010: Client expected an extension the server did not negotiate.
    public static let mandatoryExtension = WebSocketCloseCode(rawValue: 1010)
    /// 1011: Unexpected server condition.
    public static let internalError = WebSocketCloseCode(rawValue: 1011)
    /// 1012: Service restart.
    public static let serviceRestart = WebSocketCloseCode(rawValue: 1012)
    /// 1013: Try again later.
    public static let tryAgainLater = WebSocketCloseCode(rawValue: 1013)

    /// Whether the code may appear in a close frame: 1000-1003, 1007-1014 (IANA registered), or the
    /// application ranges 3000-4999.
    public var isSendable: Bool {
        switch rawValue {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }

    /// The numeric code as text.
    public var description: String { String(rawValue) }
}
