import Authorization
import HTTPServer
import JupyterProtocol
import KernelRuntime

extension GatewayResponder {
    /// `GET /api/kernels/{id}/channels`: the WebSocket upgrade. Needs read access to the kernel (every message is
    /// then checked on its own); the Origin must be allowed (cross-site WebSocket hijacking); the client's
    /// subprotocol offer decides the wire format. The socket is handed to the kernel's hub on the kernel's loop.
    func openChannels(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        try await withKernel(context, .read) { record throws(RESTError) in try upgrade(context, record) }
    }

    private func upgrade(_ context: RequestContext, _ record: KernelRecord) throws(RESTError) -> HTTPServerResponse {
        let request = context.request
        if let origin = request.headers["Origin"], !isAllowedOrigin(origin), !isSameOrigin(origin, request) {
            audit.record(AuditEvent(timeMilliseconds: AuditLog.nowMilliseconds(), user: context.identity.username,
                                    action: "connect", resource: "kernels/\(record.id)/channels", outcome: .denied,
                                    reason: "origin \(origin) not allowed", remoteAddress: context.peer.remoteAddress))
            throw RESTError(.forbidden, "WebSocket origin \(origin) is not allowed")
        }
        let handshake: WebSocketHandshake
        do {
            handshake = try WebSocketHandshake(request: request, supportedSubprotocols: [V1WebSocketCodec.subprotocol])
        } catch {
            throw RESTError(error.httpError)
        }
        let format: WebSocketSubprotocol = handshake.subprotocol == V1WebSocketCodec.subprotocol ? .v1 : .legacy
        let requestedSession = request.queryValue("session_id") ?? ""
        let sessionID = requestedSession.isEmpty || requestedSession.utf8.count > 256 ? MessageID.random() : requestedSession
        let identity = context.identity
        let tokenDigest = context.tokenDigest
        let hub = record.hub
        let connectionID = makeConnectionID()
        let remoteAddress = context.peer.remoteAddress
        return .upgrade(handshake.response()) { socket in
            hub.loop.execute {
                hub.attach(socket, identity: identity, tokenDigest: tokenDigest, sessionID: sessionID, format: format,
                           connectionID: connectionID, remoteAddress: remoteAddress)
            }
        }
    }

    /// True when the Origin names the host the request was sent to (a page served by this gateway's host).
    func isSameOrigin(_ origin: String, _ request: HTTPRequest) -> Bool {
        guard let host = request.headers["Host"] else { return false }
        return origin == "http://" + host || origin == "https://" + host
    }
}
