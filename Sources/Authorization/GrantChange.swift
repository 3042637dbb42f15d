/// A checked request to change one user's grant on a kernel (`PUT /api/kernels/{id}/access`), ready to apply
/// with `KernelAccess.setGrant(_:for:)`.
///
/// Whether the caller may change grants at all is `Policy.decide` with `.kernelAccessControl`; this checks the
/// request itself. A grant may only name a user who exists: a grant to a name nobody has yet would pass to
/// whoever is given that name later. Removing a grant (`"none"`) is allowed for any name, so grants of users
/// who were removed from the users file can still be cleaned up.
public struct GrantChange: Sendable, Hashable {
    /// The user whose grant changes.
    public let username: String
    /// The new grant; nil removes it.
    public let grant: KernelAccess.Grant?

    /// Checks a request.
    /// - Parameters:
    ///   - user: the `user` field as the client sent it.
    ///   - permission: `"read"`, `"execute"` or `"none"`.
    ///   - knownUsers: the users file's users, or nil when the gateway has no users file (shared token or no
    ///     authentication: there is no list to check names against, and the one identity is an admin anyway).
    /// - Throws: `GrantChangeError` with `emptyUser`, `invalidPermission` or `unknownUser`.
    public init(user: String, permission: String, knownUsers: UserStore?) throws(GrantChangeError) {
        guard !user.isEmpty else { throw GrantChangeError(.emptyUser, "'user' must be a non-empty string") }
        let grant: KernelAccess.Grant?
        if permission == "none" {
            grant = nil
        } else if let g = KernelAccess.Grant(rawValue: permission) {
            grant = g
        } else {
            throw GrantChangeError(.invalidPermission, "'permission' must be one of read, execute, none, not '\(permission)'")
        }
        if grant != nil, let knownUsers, knownUsers.user(named: user) == nil {
            throw GrantChangeError(
                .unknownUser,
                "no user named '\(user)' in the users file: grants can only name existing users (a grant to an unknown "
                    + "name would pass to whoever is given that name later)")
        }
        self.username = user
        self.grant = grant
    }
}
