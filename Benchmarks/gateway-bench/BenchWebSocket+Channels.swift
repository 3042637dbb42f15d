import EventLoop
import JupyterProtocol

extension BenchWebSocket {
    /// A socket for kernel `kernelID`'s channels endpoint in session `session`, asking for the v1 subprotocol when
    /// `wire` is `.v1`. Any thread (see `init(loop:url:path:token:subprotocol:)`).
    convenience init(loop: EventLoop, url: GatewayURL, kernelID: String, session: String, token: String?,
                     wire: WireProtocol) {
        self.init(loop: loop, url: url, path: url.path("api/kernels/\(kernelID)/channels?session_id=\(session)"),
                  token: token, subprotocol: wire == .v1 ? V1WebSocketCodec.subprotocol : nil)
    }
}
