/// An authenticated caller: who they are and which roles they hold.
///
/// Built by an authenticator (`UserStore.authenticate`, `SharedTokenAuthenticator.authenticate`) and then
/// attached to the HTTP request or WebSocket connection. It never carries a token. Every authorization
/// decision uses this value, never names a client wrote into message headers.
public struct Identity: Sendable, Hashable, CustomStringConvertible {
    /// Unique, stable name; kernel ownership and grants refer to it.
    public var username: String
    /// Role names, resolved against the `Policy`. Unknown names grant nothing.
    public var roles: [String]
    /// Optional human-friendly name for UIs (`/api/me`); defaults to the username there.
    public var displayName: String?

    /// Creates an identity. No validation: callers get identities from an authenticator or tests.
    public init(username: String, roles: [String], displayName: String? = nil) {
        self.username = username
        self.roles = roles
        self.displayName = displayName
    }

    public var description: String { "\(username)\(roles)" }
}
