/// A WebSocket protocol violation by the server, with the close code RFC 6455 assigns to it.
struct ClientWebSocketError: Error, CustomStringConvertible {
    let code: UInt16
    let message: String

    init(code: UInt16, _ message: String) {
        self.code = code
        self.message = message
    }

    var description: String { "WebSocket \(code): \(message)" }
}
