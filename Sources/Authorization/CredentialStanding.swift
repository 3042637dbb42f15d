/// What the users file in force says about a user who authenticated earlier with a token (for example to open a
/// WebSocket that is still open): see `UserStore.standing(of:tokenDigest:)`.
public enum CredentialStanding: Sendable, Hashable {
    /// The user exists and the token still authenticates them; their identity now (roles may have changed).
    case current(Identity)
    /// The user is no longer in the file.
    case userRemoved
    /// The user exists, but the token they authenticated with no longer authenticates them: it was rotated
    /// (`users add` on an existing user) or cleared.
    case tokenRevoked
}
