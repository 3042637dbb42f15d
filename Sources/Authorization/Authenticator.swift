/// Maps a presented token to an identity, in whichever mode the gateway runs.
public enum Authenticator: Sendable {
    /// One shared secret, one (admin) identity.
    case sharedToken(SharedTokenAuthenticator)
    /// Per-user tokens from a users file.
    case users(UserStore)

    /// The identity for `token`, or nil ("who are you?": HTTP 401).
    public func authenticate(token: String) -> Identity? {
        switch self {
        case .sharedToken(let a): a.authenticate(token: token)
        case .users(let store): store.authenticate(token: token)
        }
    }
}
