/// A validated WebSocket opening handshake (RFC 6455 section 4.2) and the 101 answer to it.
///
/// Pure: validates an `HTTPRequest`, selects a subprotocol, and builds the response. Checking the
/// `origin` against policy, and authenticating the request, are the caller's job.
public struct WebSocketHandshake: Sendable, Equatable {
    /// The GUID RFC 6455 appends to the key before hashing.
    public static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// The client's `Sec-WebSocket-Key`, as sent.
    public let key: String
    /// The `Sec-WebSocket-Accept` value for `key`.
    public let accept: String
    /// Subprotocols the client offered, in its order.
    public let offeredSubprotocols: [String]
    /// The selected subprotocol, always one the client offered; nil when there was no overlap (the
    /// response then carries no `Sec-WebSocket-Protocol`, and the client decides whether to go on).
    public let subprotocol: String?
    /// The `Origin` header (or the legacy `Sec-WebSocket-Origin`), for the caller's origin check.
    public let origin: String?

    /// Validates `request` as an opening handshake and selects a subprotocol.
    ///
    /// `supportedSubprotocols` is in server preference order: the first one the client also
    /// offered wins (tokens compare case-sensitively). Throws `WebSocketHandshakeError` naming the
    /// first violated requirement.
    public init(request: HTTPRequest, supportedSubprotocols: [String] = []) throws(WebSocketHandshakeError) {
        guard request.method == .get else {
            throw WebSocketHandshakeError(.methodNotGET, message: "WebSocket upgrade requires GET")
        }
        guard request.version.isAtLeast(.http1_1) else {
            throw WebSocketHandshakeError(.unsupportedHTTPVersion, message: "WebSocket upgrade requires HTTP/1.1")
        }
        guard request.headers.containsToken("websocket", in: "Upgrade") else {
            throw WebSocketHandshakeError(.missingUpgradeHeader, message: "Upgrade header must be websocket")
        }
        guard request.headers.containsToken("upgrade", in: "Connection") else {
            throw WebSocketHandshakeError(.missingConnectionUpgrade, message: "Connection header must contain upgrade")
        }
        let versions = request.headers.listElements(for: "Sec-WebSocket-Version")
        guard versions == ["13"] else {
            throw WebSocketHandshakeError(.unsupportedVersion, message: "Sec-WebSocket-Version must be 13")
        }
        let keys = request.headers.values(for: "Sec-WebSocket-Key")
        guard keys.count == 1, let key = keys.first, Base64.decode(key)?.count == 16 else {
            throw WebSocketHandshakeError(.invalidKey, message: "Sec-WebSocket-Key must be base64 of 16 bytes")
        }
        self.key = key
        self.accept = Self.acceptValue(forKey: key)
        self.offeredSubprotocols = request.headers.listElements(for: "Sec-WebSocket-Protocol")
        self.subprotocol = Self.selectSubprotocol(offered: offeredSubprotocols, supported: supportedSubprotocols)
        self.origin = request.headers["Origin"] ?? request.headers["Sec-WebSocket-Origin"]
    }

    /// `base64(SHA-1(key + GUID))`, the `Sec-WebSocket-Accept` value for `key`.
    public static func acceptValue(forKey key: String) -> String {
        // SHA-1 of a short buffer only fails if libcrypto itself is broken; an empty digest then
        // yields an accept value no client will take, failing the handshake safely.
        Base64.encode(SHA1.digest(Array((key + guid).utf8)) ?? [])
    }

    /// The first entry of `supported` (server preference) that is also in `offered`; nil if none.
    public static func selectSubprotocol(offered: [String], supported: [String]) -> String? {
        supported.first { offered.contains($0) }
    }

    /// The `101 Switching Protocols` response completing this handshake. `extraHeaders` are added
    /// after the handshake fields (they must not repeat them).
    public func response(extraHeaders: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Upgrade", value: "websocket")
        headers.add(name: "Connection", value: "Upgrade")
        headers.add(name: "Sec-WebSocket-Accept", value: accept)
        if let subprotocol { headers.add(name: "Sec-WebSocket-Protocol", value: subprotocol) }
        for field in extraHeaders { headers.add(name: field.name, value: field.value) }
        return HTTPResponse(status: .switchingProtocols, headers: headers)
    }
}
