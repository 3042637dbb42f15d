/// "Single shared token" mode, the default for one person: one secret, one admin identity.
///
/// Only the token's digest is kept. A presented token is hashed and compared in constant time, so neither
/// the comparison's duration nor the token's length tells an attacker how close a guess was.
public struct SharedTokenAuthenticator: Sendable {
    private let digest: TokenDigest
    /// The identity every correct token authenticates as.
    public let identity: Identity

    /// Creates the authenticator; nil if `token` is empty (an empty secret would admit everyone).
    public init?(token: String, identity: Identity = Identity(username: "admin", roles: ["admin"])) {
        guard !token.isEmpty else { return nil }
        self.digest = TokenDigest(hashing: token)
        self.identity = identity
    }

    /// The identity if `token` is the shared token, else nil.
    public func authenticate(token: String) -> Identity? {
        authenticate(digest: TokenDigest(hashing: token))
    }

    /// Same for raw bytes (for example straight from a header), read only during the call.
    public func authenticate(tokenBytes: UnsafeRawBufferPointer) -> Identity? {
        authenticate(digest: TokenDigest(hashing: tokenBytes))
    }

    /// The identity if `presented` is the shared token's digest (compared in constant time), else nil.
    public func authenticate(digest presented: TokenDigest) -> Identity? {
        presented.constantTimeEquals(digest) ? identity : nil
    }
}
