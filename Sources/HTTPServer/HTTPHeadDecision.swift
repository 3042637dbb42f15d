/// What the application decides about a request from its head (request line and header fields), before the server
/// reads any of its body (`HTTPResponder.authorizeHead`).
public enum HTTPHeadDecision: Sendable, Equatable {
    /// Read the body, at most `maxBodyBytes` (nil: the server's `maxBodyBytes`; a larger value does not raise it),
    /// and answer the request as usual. A declared or received body above the bound is answered with 413.
    case proceed(maxBodyBytes: Int?)
    /// Answer with `response` without reading the body. When the request declared a body, the connection closes
    /// after the response: the unread body would otherwise be taken for the next request.
    case reject(HTTPResponse)

    /// Proceed within the server's own body limit.
    public static let proceed = HTTPHeadDecision.proceed(maxBodyBytes: nil)
}
