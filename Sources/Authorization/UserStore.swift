/// The users and their token digests: add, update, remove, list, authenticate.
///
/// A value with no I/O. The caller reads the users file and passes its bytes to `init(fileContents:)`,
/// and writes `fileContents()` back after changes (see `UserStore+File.swift`). Tokens are returned once
/// by the calls that create them and never stored.
public struct UserStore: Sendable {
    private var byName: [String: UserRecord] = [:]
    private var byDigest: [TokenDigest: String] = [:]

    /// An empty store.
    public init() {}

    /// All users, sorted by username.
    public var users: [UserRecord] { byName.values.sorted { $0.username < $1.username } }

    /// The user named `username`, if any.
    public func user(named username: String) -> UserRecord? { byName[username] }

    /// Adds `username` or updates their roles and display name, issuing a fresh token (the old one stops
    /// working). Returns the token: show it once, it is not kept.
    /// - Throws: `UserStoreError` for an invalid username or role name.
    public mutating func upsertUser(username: String, roles: [String], displayName: String? = nil) throws(UserStoreError)
        -> String
    {
        try Self.validate(username: username, roles: roles)
        let token = Tokens.generate()
        var record = byName[username] ?? UserRecord(username: username, roles: roles, tokenDigest: nil)
        record.roles = roles
        if let displayName { record.displayName = displayName }
        if let old = record.tokenDigest { byDigest[old] = nil }
        let digest = TokenDigest(hashing: token)
        record.tokenDigest = digest
        byName[username] = record
        byDigest[digest] = username
        return token
    }

    /// Changes an existing user's roles (and display name if given) without touching their token.
    /// - Throws: `UserStoreError` if the user does not exist or a role name is invalid.
    public mutating func setRoles(_ roles: [String], displayName: String? = nil, for username: String)
        throws(UserStoreError)
    {
        guard var record = byName[username] else { throw UserStoreError(.unknownUser, "no user '\(username)'") }
        try Self.validate(username: username, roles: roles)
        record.roles = roles
        if let displayName { record.displayName = displayName }
        byName[username] = record
    }

    /// Sets (or, with nil, clears) the Unix account an existing user's kernels run as under kernel isolation.
    /// - Throws: `UserStoreError` if the user does not exist or the name is not a valid account name.
    public mutating func setUnixUser(_ account: String?, for username: String) throws(UserStoreError) {
        guard var record = byName[username] else { throw UserStoreError(.unknownUser, "no user '\(username)'") }
        if let account, !UserRecord.isValidUnixAccountName(account) {
            throw UserStoreError(
                .invalidUnixUser,
                "invalid Unix account name '\(account)': use 1-32 characters from A-Z a-z 0-9 . _ -, not starting with -")
        }
        record.unixUser = account
        byName[username] = record
    }

    /// Issues a new token for an existing user; the old one stops working. Returns the new token.
    /// - Throws: `UserStoreError.Code.unknownUser`.
    public mutating func rotateToken(for username: String) throws(UserStoreError) -> String {
        guard let record = byName[username] else { throw UserStoreError(.unknownUser, "no user '\(username)'") }
        return try upsertUser(username: username, roles: record.roles, displayName: record.displayName)
    }

    /// Removes a user and invalidates their token. Returns whether the user existed.
    @discardableResult
    public mutating func removeUser(_ username: String) -> Bool {
        guard let record = byName.removeValue(forKey: username) else { return false }
        if let d = record.tokenDigest { byDigest[d] = nil }
        return true
    }

    /// The identity whose token is `token`, or nil. One SHA-256 and one dictionary lookup by digest.
    /// Timing reveals at most something about the digest of the guess, which does not help find a token.
    public func authenticate(token: String) -> Identity? {
        guard !token.isEmpty else { return nil }
        return authenticate(digest: TokenDigest(hashing: token))
    }

    /// Same for raw token bytes, read only during the call.
    public func authenticate(tokenBytes: UnsafeRawBufferPointer) -> Identity? {
        guard tokenBytes.count > 0 else { return nil }
        return authenticate(digest: TokenDigest(hashing: tokenBytes))
    }

    /// The identity whose current token has `digest`, or nil (for a caller that hashed a non-empty token once and
    /// keeps the digest, e.g. to notice later that the token was rotated).
    public func authenticate(digest: TokenDigest) -> Identity? {
        guard let name = byDigest[digest], let record = byName[name] else { return nil }
        return record.identity
    }

    /// What this store says about `username`, who authenticated earlier with the token whose digest is
    /// `tokenDigest`: removed, token no longer theirs, or current (with their identity now). A nil digest checks
    /// the user only (for example a session parked without a connection).
    public func standing(of username: String, tokenDigest: TokenDigest?) -> CredentialStanding {
        guard let record = byName[username] else { return .userRemoved }
        if let tokenDigest, record.tokenDigest != tokenDigest { return .tokenRevoked }
        return .current(record.identity)
    }

    /// Inserts a record read from a file (already validated by the parser).
    mutating func insertParsed(_ record: UserRecord) {
        byName[record.username] = record
        if let d = record.tokenDigest { byDigest[d] = record.username }
    }

    func owner(of digest: TokenDigest) -> String? { byDigest[digest] }

    static func validate(username: String, roles: [String]) throws(UserStoreError) {
        guard UserRecord.isValidUsername(username) else {
            throw UserStoreError(
                .invalidUsername, "invalid username '\(username)': use 1-64 characters from A-Z a-z 0-9 . _ @ -")
        }
        for r in roles where !UserRecord.isValidRoleName(r) {
            throw UserStoreError(.invalidRoleName, "invalid role name '\(r)'")
        }
    }
}
