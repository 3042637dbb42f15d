import Basics
import HTTPServer
import KernelRuntime

/// The one error of the REST layer: the status and the message a client sees. Handlers throw it; the responder
/// renders it in one place (`response`), in Jupyter Server's error shape `{"message": ..., "reason": ...}` (plus
/// the kernel limit a refused start hit, if any). Errors the HTTP layer answers by itself (unparsable requests,
/// refused WebSocket handshakes) are rendered the same way.
struct RESTError: Error, Equatable {
    let status: HTTPStatus
    let message: String
    /// Jupyter's `reason`: the status's reason phrase, the HTTP layer's detail, or nil (written as `null`).
    let reason: String?
    /// Header fields the status needs (`Allow` on a 405, `Sec-WebSocket-Version` on a 426).
    let headers: HTTPHeaders
    /// The kernel limit a refused start hit (a 403), named in the body.
    var kernelLimit: KernelLimitHit?

    /// An error whose `reason` is the status's reason phrase (e.g. "Not Found").
    init(_ status: HTTPStatus, _ message: String, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.message = message
        reason = status.reasonPhrase
        self.headers = headers
    }

    /// An error reported by the HTTP layer: its detail (for a parse error, the http_parser error name or the
    /// exceeded limit) becomes the reason, and no detail a `null` reason.
    init(_ error: HTTPError) {
        status = error.status
        message = error.message
        reason = error.detail
        headers = error.headers
    }

    /// A kernel manager refusal, with the status its code stands for.
    init(_ error: KernelManagerError) {
        let status: HTTPStatus
        switch error.code {
        case .unknownKernelSpec, .notFound: status = .notFound
        case .invalidRequest: status = .badRequest
        case .limitReached, .reservedForAdmins, .forbidden, .aboveResourceLimit: status = .forbidden
        case .startFailed: status = .internalServerError
        case .shuttingDown: status = .serviceUnavailable
        }
        self.init(status, error.message)
    }

    /// The response: `application/json`, `{"message": "...", "reason": "..."}` (both strings escaped, so any
    /// text, client input included, is safe here), followed by `"limit"`, `"max_kernels"` and, for the admins'
    /// reserve, `"reserved_kernels"` when `kernelLimit` is set.
    var response: HTTPResponse {
        var body: [UInt8] = []
        body.reserveCapacity(32 + message.utf8.count + (reason?.utf8.count ?? 0))
        body.append(contentsOf: #"{"message": "#.utf8)
        JSONEscaper.appendQuoted(message, to: &body)
        body.append(contentsOf: #", "reason": "#.utf8)
        if let reason {
            JSONEscaper.appendQuoted(reason, to: &body)
        } else {
            body.append(contentsOf: "null".utf8)
        }
        if let kernelLimit {
            body.append(contentsOf: #", "limit": "#.utf8)
            JSONEscaper.appendQuoted(kernelLimit.kind.rawValue, to: &body)
            body.append(contentsOf: #", "max_kernels": \#(kernelLimit.maxKernels)"#.utf8)
            if let reserved = kernelLimit.reservedKernels {
                body.append(contentsOf: #", "reserved_kernels": \#(reserved)"#.utf8)
            }
        }
        body.append(UInt8(ascii: "}"))
        return .json(status, body: body, headers: headers)
    }
}
