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

    /// The identity for the token whose digest is `digest` (the caller hashed a non-empty token), or nil. Lets a
    /// caller hash once and keep the digest with what the token opened (never the token itself).
    public func authenticate(digest: TokenDigest) -> Identity? {
        switch self {
        case .sharedToken(let a): a.authenticate(digest: digest)
        case .users(let store): store.authenticate(digest: digest)
        }
    }
}
