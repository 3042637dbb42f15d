import Foundation
import Testing
@testable import HTTPServer

@Suite struct HTTPResponseTests {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func serializesStatusHeadersLengthAndBody() {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain")
        headers.add(name: "Set-Cookie", value: "a=1")
        headers.add(name: "Set-Cookie", value: "b=2")
        let response = HTTPResponse(status: .ok, headers: headers, body: Array("hello".utf8))
        #expect(text(response.serialized(keepAlive: true)) ==
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
            + "Content-Length: 5\r\nConnection: keep-alive\r\n\r\nhello")
        #expect(text(response.serialized(keepAlive: false)).contains("\r\nConnection: close\r\n"))
    }

    @Test func serializerOwnsFramingHeaders() {
        var headers = HTTPHeaders()
        headers.add(name: "content-length", value: "999")
        headers.add(name: "Connection", value: "keep-alive")
        headers.add(name: "Transfer-Encoding", value: "chunked")
        let out = text(HTTPResponse(status: .created, headers: headers, body: [1, 2]).serialized(keepAlive: false))
        #expect(out.hasPrefix("HTTP/1.1 201 Created\r\n"))
        #expect(!out.contains("999"))
        #expect(!out.contains("chunked"))
        #expect(out.contains("Content-Length: 2\r\n"))
        #expect(out.components(separatedBy: "Connection:").count == 2)
        #expect(out.contains("Connection: close\r\n"))
    }

    @Test func noContentAndHeadHaveNoBody() {
        let noContent = text(HTTPResponse(status: .noContent, body: Array("x".utf8)).serialized(keepAlive: true))
        #expect(noContent == "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n")
        let head = text(HTTPResponse(status: .ok, body: Array("abc".utf8)).serialized(keepAlive: true, isHeadResponse: true))
        #expect(head == "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n")
    }

    @Test func headerInjectionIsNeutralized() {
        var headers = HTTPHeaders()
        headers.add(name: "Location", value: "/x\r\nSet-Cookie: evil=1")
        headers.add(name: "Bad Name", value: "v")
        headers.add(name: "X\r\nY", value: "v")
        let out = text(HTTPResponse(status: .found, headers: headers).serialized(keepAlive: true))
        #expect(out.contains("Location: /x  Set-Cookie: evil=1\r\n"))
        #expect(!out.contains("\r\nSet-Cookie"))
        #expect(!out.contains("Bad Name"))
        #expect(!out.contains("X\r\nY"))
    }

    @Test func switchingProtocolsKeepsConnectionHeaderAndHasNoLength() {
        var headers = HTTPHeaders()
        headers.add(name: "Upgrade", value: "websocket")
        headers.add(name: "Connection", value: "Upgrade")
        let out = text(HTTPResponse(status: .switchingProtocols, headers: headers).serialized(keepAlive: true))
        #expect(out == "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
    }

    @Test func httpErrorsDefaultToPlainText() {
        var headers = HTTPHeaders()
        headers.add(name: "Allow", value: "GET")
        let response = HTTPError(.methodNotAllowed, message: "use GET", headers: headers).plainTextResponse
        #expect(response.status == .methodNotAllowed)
        #expect(response.headers["Content-Type"] == "text/plain; charset=utf-8")
        #expect(response.headers["Allow"] == "GET")
        #expect(text(response.body) == "use GET\n")
        let detailed = HTTPError(.badRequest, message: "Bad Request", detail: "HPE_INVALID_METHOD").plainTextResponse
        #expect(text(detailed.body) == "Bad Request: HPE_INVALID_METHOD\n")
    }

    /// A responder that does not render errors gets the plain default.
    @Test func respondersDefaultToPlainErrors() {
        struct Plain: HTTPResponder {
            func respond(to request: HTTPRequest, peer: PeerInfo) async -> HTTPServerResponse { .response(HTTPResponse(status: .ok)) }
        }
        let error = HTTPError(.uriTooLong, message: "URI Too Long")
        #expect(Plain().response(for: error) == error.plainTextResponse)
    }

    @Test func jsonEncodableHelper() throws {
        struct Status: Encodable { let started: String; let connections: Int }
        let response = try HTTPResponse.json(encoding: Status(started: "now", connections: 2))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        #expect(object["connections"] as? Int == 2)
        #expect(response.status == .ok)
        #expect(text(response.serialized(keepAlive: true)).contains("Content-Length: \(response.body.count)\r\n"))
    }

    @Test func parseErrorsMapToStatuses() {
        #expect(HTTPParseError(.headersTooLarge, detail: "").status.code == 431)
        #expect(HTTPParseError(.bodyTooLarge, detail: "").status.code == 413)
        #expect(HTTPParseError(.uriTooLong, detail: "").status.code == 414)
        #expect(HTTPParseError(.badRequest, detail: "").status.code == 400)
    }
}
