/// An error of the HTTP layer: a request it cannot parse (`HTTPParseError`, answered by the layer itself before any
/// handler runs), or a refused WebSocket opening handshake (`WebSocketHandshakeError`, which the application's
/// upgrade handler turns into its answer).
///
/// The layer does not choose the body's format: the application renders it (`HTTPResponder.response(for:)`), so a
/// Jupyter gateway answers in Jupyter's JSON shape and another application in its own. Without a renderer the
/// answer is `plainTextResponse`.
public struct HTTPError: Sendable, Equatable {
    /// The status to answer with.
    public var status: HTTPStatus
    /// A human-readable explanation, safe to send to the client.
    public var message: String
    /// A short machine-oriented detail (e.g. the http_parser error name), when there is one.
    public var detail: String?
    /// Header fields the status needs (`Allow`, `Sec-WebSocket-Version`).
    public var headers: HTTPHeaders

    public init(_ status: HTTPStatus, message: String, detail: String? = nil, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.message = message
        self.detail = detail
        self.headers = headers
    }

    /// The error as `text/plain`: the message, then `": "` and the detail when there is one, then a newline.
    public var plainTextResponse: HTTPResponse {
        var fields = headers
        fields.set(name: "Content-Type", value: "text/plain; charset=utf-8")
        let text = detail.map { "\(message): \($0)\n" } ?? "\(message)\n"
        return HTTPResponse(status: status, headers: fields, body: Array(text.utf8))
    }
}
