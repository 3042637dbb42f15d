/// The WebSocket wire format a load client speaks: the legacy JSON text frames every Jupyter server accepts, or
/// the `v1.kernel.websocket.jupyter.org` binary format.
enum WireProtocol: String, Sendable {
    case json
    case v1
}
