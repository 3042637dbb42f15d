/// The authorization policy: roles and the channel rule table.
///
/// A value: build it once (from `Policy.default` or `Policy(fileContents:)`), then share it read-only
/// between threads. Decisions are pure functions of the policy, an identity and a resource; see
/// `Policy+Decisions.swift`.
public struct Policy: Sendable {
    /// Roles by name, built-in ones included (possibly overridden by the policy file).
    public var roles: [String: Role]
    /// Which level each channel message type requires.
    public var channelRules: ChannelRuleTable

    /// Creates a policy from explicit roles and rules.
    public init(roles: [String: Role] = Role.builtIn, channelRules: ChannelRuleTable = .defaults) {
        self.roles = roles
        self.channelRules = channelRules
    }

    /// The built-in roles `admin`, `user`, `viewer` and the default channel rules.
    public static let `default` = Policy()

    /// Resolves an identity's roles once; pass the result to the `decide` overload taking it, or to a
    /// `ChannelPermissionCache`.
    public func permissions(for identity: Identity) -> EffectivePermissions {
        EffectivePermissions(username: identity.username, roleNames: identity.roles, roles: roles)
    }

    /// Role names used by `store`'s users that this policy does not define, sorted. Such roles grant
    /// nothing; the gateway should warn about them at start-up.
    public func unknownRoles(in store: UserStore) -> [String] {
        var names = Set<String>()
        for user in store.users { for r in user.roles where roles[r] == nil { names.insert(r) } }
        return names.sorted()
    }
}
