import Testing
@testable import HTTPServer

@Suite struct WebSocketHandshakeTests {
    private func upgradeRequest(_ extra: [(String, String)] = [], removing: Set<String> = [], method: HTTPMethod = .get, version: HTTPVersion = .http1_1) throws -> HTTPRequest {
        var headers = HTTPHeaders()
        let base: [(String, String)] = [
            ("Host", "localhost:8888"), ("Upgrade", "websocket"), ("Connection", "keep-alive, Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
            ("Origin", "http://localhost:8888"),
        ]
        for (name, value) in base where !removing.contains(name) { headers.add(name: name, value: value) }
        for (name, value) in extra { headers.add(name: name, value: value) }
        return try HTTPRequest(method: method, target: "/api/kernels/k/channels", headers: headers, version: version, isUpgrade: true)
    }

    /// RFC 6455 section 1.3 example. (The value "s3pPLMBiTxaQ9kuzzo2M+YpsK+o=" sometimes quoted for
    /// this key is wrong; Python's hashlib gives the RFC's value, b37a4f2c...c4ea in hex.)
    @Test func rfc6455ExampleAcceptKey() {
        #expect(WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(SHA1.digest(Array("abc".utf8)).map { Base64.encode($0) } == "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=")
    }

    @Test func validRequestBuilds101() throws {
        let handshake = try WebSocketHandshake(request: try upgradeRequest())
        #expect(handshake.accept == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(handshake.origin == "http://localhost:8888")
        #expect(handshake.subprotocol == nil)
        let response = handshake.response()
        #expect(response.status.code == 101)
        #expect(response.headers["Sec-WebSocket-Accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(response.headers["Upgrade"] == "websocket")
        #expect(response.headers["Connection"] == "Upgrade")
        #expect(!response.headers.contains("Sec-WebSocket-Protocol"))
        let wire = String(decoding: response.serialized(keepAlive: true), as: UTF8.self)
        #expect(wire.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(wire.hasSuffix("\r\n\r\n"))
    }

    @Test func headerTokensAreCaseInsensitive() throws {
        var headers = HTTPHeaders()
        headers.add(name: "upgrade", value: "WebSocket")
        headers.add(name: "CONNECTION", value: "UPGRADE")
        headers.add(name: "sec-websocket-key", value: "AQIDBAUGBwgJCgsMDQ4PEA==")
        headers.add(name: "sec-websocket-version", value: "13")
        let request = try HTTPRequest(method: .get, target: "/", headers: headers)
        let handshake = try WebSocketHandshake(request: request)
        #expect(handshake.origin == nil)
    }

    @Test func subprotocolSelectionUsesServerPreferenceAndOnlyOfferedOnes() throws {
        let supported = ["v1.kernel.websocket.jupyter.org", "legacy"]
        let both = try WebSocketHandshake(
            request: try upgradeRequest([("Sec-WebSocket-Protocol", "legacy, v1.kernel.websocket.jupyter.org")]),
            supportedSubprotocols: supported)
        #expect(both.subprotocol == "v1.kernel.websocket.jupyter.org")
        #expect(both.offeredSubprotocols == ["legacy", "v1.kernel.websocket.jupyter.org"])
        #expect(both.response().headers["Sec-WebSocket-Protocol"] == "v1.kernel.websocket.jupyter.org")

        let repeatedHeader = try WebSocketHandshake(
            request: try upgradeRequest([("Sec-WebSocket-Protocol", "chat"), ("Sec-WebSocket-Protocol", "legacy")]),
            supportedSubprotocols: supported)
        #expect(repeatedHeader.subprotocol == "legacy")

        let none = try WebSocketHandshake(
            request: try upgradeRequest([("Sec-WebSocket-Protocol", "chat, superchat")]), supportedSubprotocols: supported)
        #expect(none.subprotocol == nil)
        #expect(!none.response().headers.contains("Sec-WebSocket-Protocol"))

        let notOffered = try WebSocketHandshake(request: try upgradeRequest(), supportedSubprotocols: supported)
        #expect(notOffered.subprotocol == nil)

        // Tokens are case-sensitive.
        #expect(WebSocketHandshake.selectSubprotocol(offered: ["V1.KERNEL.WEBSOCKET.JUPYTER.ORG"], supported: supported) == nil)
    }

    @Test func rejections() throws {
        let cases: [(HTTPRequest, WebSocketHandshakeError.Code, Int)] = [
            (try upgradeRequest(method: .post), .methodNotGET, 405),
            (try upgradeRequest(version: .http1_0), .unsupportedHTTPVersion, 400),
            (try upgradeRequest(removing: ["Upgrade"]), .missingUpgradeHeader, 400),
            (try upgradeRequest([("Upgrade", "h2c")], removing: ["Upgrade"]), .missingUpgradeHeader, 400),
            (try upgradeRequest([("Connection", "keep-alive")], removing: ["Connection"]), .missingConnectionUpgrade, 400),
            (try upgradeRequest(removing: ["Sec-WebSocket-Version"]), .unsupportedVersion, 426),
            (try upgradeRequest([("Sec-WebSocket-Version", "8")], removing: ["Sec-WebSocket-Version"]), .unsupportedVersion, 426),
            (try upgradeRequest(removing: ["Sec-WebSocket-Key"]), .invalidKey, 400),
            (try upgradeRequest([("Sec-WebSocket-Key", "c2hvcnQ=")], removing: ["Sec-WebSocket-Key"]), .invalidKey, 400),
            (try upgradeRequest([("Sec-WebSocket-Key", "not base64 at all!!!!!!!")], removing: ["Sec-WebSocket-Key"]), .invalidKey, 400),
            (try upgradeRequest([("Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEA==")]), .invalidKey, 400),
        ]
        for (request, code, status) in cases {
            #expect(throws: WebSocketHandshakeError.self) { try WebSocketHandshake(request: request) }
            do {
                _ = try WebSocketHandshake(request: request)
            } catch {
                #expect(error.code == code)
                #expect(error.status.code == status)
                #expect(error.httpError.status.code == status)
            }
        }
        let versionError = WebSocketHandshakeError(.unsupportedVersion, message: "x")
        #expect(versionError.httpError.headers["Sec-WebSocket-Version"] == "13")
        #expect(WebSocketHandshakeError(.methodNotGET, message: "x").httpError.headers["Allow"] == "GET")
    }

    @Test func base64RoundTripAndStrictness() {
        for length in 0...40 {
            let bytes = (0..<length).map { UInt8(($0 * 37 + 11) & 0xFF) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.decode("Zm8") == nil)
        #expect(Base64.decode("Zm9=") == nil)  // non-zero padding bits
        #expect(Base64.decode("Z=8=") == nil)
        #expect(Base64.decode("Zm8=Zm8=") == nil)
    }
}
