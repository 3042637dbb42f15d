import Foundation
import HTTPServer
import KernelRuntime
import Testing
@testable import Gateway

@Suite struct RESTErrorTests {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func bodyIsJupyterShapedValidEscapedJSON() throws {
        let message = "quote \" backslash \\ newline \n tab \t ctl \u{01} line-sep \u{2028} é 🎉"
        let response = RESTError(.notFound, message).response
        #expect(response.status == .notFound)
        #expect(response.headers["Content-Type"] == "application/json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        #expect(object["message"] as? String == message)
        #expect(object["reason"] as? String == "Not Found")
        let body = text(response.body)
        #expect(body.contains(#"\u0001"#))
        #expect(body.contains(#"\u2028"#))
        #expect(body.contains(#"\n"#))
    }

    @Test func exactBytesAndHeaders() {
        var headers = HTTPHeaders()
        headers.set(name: "Allow", value: "GET, POST")
        let response = RESTError(.methodNotAllowed, "PUT is not allowed on /api", headers: headers).response
        #expect(text(response.body) == #"{"message": "PUT is not allowed on /api", "reason": "Method Not Allowed"}"#)
        #expect(response.headers["Allow"] == "GET, POST")
    }

    /// A refused start names the limit it hit (issue 10, finding 6).
    @Test func kernelLimitsAreNamedInTheBody() throws {
        var perUser = RESTError(.forbidden, "bob may not write kernelspec echo: per-user kernel limit reached")
        perUser.kernelLimit = KernelLimitHit(.perUser, maxKernels: 4)
        #expect(text(perUser.response.body) == #"{"message": "bob may not write kernelspec echo: per-user kernel limit reached", "reason": "Forbidden", "limit": "per_user", "max_kernels": 4}"#)
        var reserve = RESTError(.forbidden, "reserved")
        reserve.kernelLimit = KernelLimitHit(.adminReserve, maxKernels: 20, reservedKernels: 2)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(reserve.response.body)) as? [String: Any])
        #expect(object["limit"] as? String == "admin_reserve")
        #expect(object["max_kernels"] as? Int == 20 && object["reserved_kernels"] as? Int == 2)
        var gateway = RESTError(.forbidden, "full")
        gateway.kernelLimit = KernelLimitHit(.gateway, maxKernels: 6)
        #expect(text(gateway.response.body).hasSuffix(#""limit": "gateway", "max_kernels": 6}"#))
        #expect(RESTError(KernelManagerError(.reservedForAdmins, "x")).status == .forbidden)
    }

    /// What the HTTP layer answers by itself keeps the shape clients saw before: a parse error's detail is the
    /// reason; a refused handshake has a null reason and keeps its headers.
    @Test func httpLayerErrorsRenderTheSameWay() {
        let parse = HTTPParseError(.headersTooLarge, detail: "header section larger than 8 bytes").httpError
        #expect(text(RESTError(parse).response.body)
            == #"{"message": "Request Header Fields Too Large", "reason": "header section larger than 8 bytes"}"#)
        let handshake = WebSocketHandshakeError(.unsupportedVersion, message: "Sec-WebSocket-Version must be 13").httpError
        let response = RESTError(handshake).response
        #expect(response.status.code == 426)
        #expect(response.headers["Sec-WebSocket-Version"] == "13")
        #expect(text(response.body) == #"{"message": "Sec-WebSocket-Version must be 13", "reason": null}"#)
    }

    @Test(arguments: [
        (KernelManagerError.Code.unknownKernelSpec, 404), (.notFound, 404), (.invalidRequest, 400), (.aboveResourceLimit, 403),
        (.limitReached, 403), (.forbidden, 403), (.startFailed, 500), (.shuttingDown, 503),
    ])
    func managerErrorsMapToStatuses(code: KernelManagerError.Code, status: Int) {
        let error = RESTError(KernelManagerError(code, "why"))
        #expect(error.status.code == status)
        #expect(error.message == "why")
        #expect(error.reason == error.status.reasonPhrase)
    }
}
