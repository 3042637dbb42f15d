/// An HTTP request method, compared case-sensitively as RFC 9110 requires.
///
/// A struct rather than an enum so that any token http_parser accepts can be represented without a
/// catch-all case; the common methods are static constants.
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The method token as sent on the wire, e.g. `"GET"`.
    public let rawValue: String

    /// Wraps a method token. Does not validate it: tokens reach this type only from http_parser or code.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The `GET` method.
    public static let get = HTTPMethod(rawValue: "GET")
    /// The `HEAD` method.
    public static let head = HTTPMethod(rawValue: "HEAD")
    /// The `POST` method.
    public static let post = HTTPMethod(rawValue: "POST")
    /// The `PUT` method.
    public static let put = HTTPMethod(rawValue: "PUT")
    /// The `PATCH` method.
    public static let patch = HTTPMethod(rawValue: "PATCH")
    /// The `DELETE` method.
    public static let delete = HTTPMethod(rawValue: "DELETE")
    /// The `OPTIONS` method.
    public static let options = HTTPMethod(rawValue: "OPTIONS")

    /// The method token.
    public var description: String { rawValue }
}
