/// An HTTP response to be serialized onto a connection.
///
/// A plain value. `Content-Length`, `Connection` and `Transfer-Encoding` are owned by the serializer
/// (see `HTTPResponse+Serialization.swift`); any such fields set here are ignored for non-101
/// responses.
public struct HTTPResponse: Sendable, Equatable {
    /// Status line code and phrase.
    public var status: HTTPStatus
    /// Header fields, written in order.
    public var headers: HTTPHeaders
    /// The complete body.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: HTTPStatus, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response with an already-encoded JSON body and `Content-Type: application/json`.
    public static func json(_ status: HTTPStatus = .ok, body: [UInt8], headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        var fields = headers
        fields.set(name: "Content-Type", value: "application/json")
        return HTTPResponse(status: status, headers: fields, body: body)
    }
}
