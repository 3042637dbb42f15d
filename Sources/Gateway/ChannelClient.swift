import Authorization
import HTTPServer
import JupyterProtocol

/// One WebSocket client of a kernel: its authenticated identity, the session it belongs to, its wire format and
/// its cached channel permissions. Loop-bound (owned by the kernel's `ChannelHub`).
final class ChannelClient {
    let connection: WebSocketConnection
    /// Replaced on reload when the user's roles change.
    var identity: Identity
    /// The authenticated username, pre-escaped for stamping into every forwarded header.
    let usernameLiteral: JSONStringLiteral
    let session: SessionKey
    let format: WebSocketSubprotocol
    var permissions: ChannelPermissionCache
    /// The session's count of requests waiting for replies (shared with the session, set on attach).
    var outstanding = OutstandingRequests()
    /// Set when a newer connection took this client's session over, so closing it does not park the session.
    var replaced = false
    let remoteAddress: String?

    init(connection: WebSocketConnection, identity: Identity, session: SessionKey, format: WebSocketSubprotocol,
         permissions: ChannelPermissionCache, remoteAddress: String?) {
        self.connection = connection
        self.identity = identity
        usernameLiteral = JSONStringLiteral(identity.username)
        self.session = session
        self.format = format
        self.permissions = permissions
        self.remoteAddress = remoteAddress
    }
}

/// A client session on one kernel: the authenticated user plus the `session_id` the client chose. Keying by both
/// means nobody can take over (or receive the replay of) another user's session by guessing its id.
struct SessionKey: Hashable {
    let username: String
    let sessionID: String
}
