import Authorization
import Synchronization

/// The policy and authenticator in force, replaceable at run time (SIGHUP reload) without dropping connections.
/// Connections keep the permissions computed when they opened; kernel grants still apply per message.
final class PolicyStore: Sendable {
    private let state: Mutex<(Policy, Authenticator?)>

    init(policy: Policy, authenticator: Authenticator?) {
        state = Mutex((policy, authenticator))
    }

    var current: Policy { state.withLock { $0.0 } }
    /// nil means authentication is off (`--no-auth`).
    var authenticator: Authenticator? { state.withLock { $0.1 } }

    /// The users file's users, or nil when the gateway has none (shared token or `--no-auth`).
    var users: UserStore? {
        guard case .users(let store)? = authenticator else { return nil }
        return store
    }

    /// The `unix_user` the users file gives `username`, if any (kernel isolation's explicit mapping).
    func unixUser(of username: String) -> String? { users?.user(named: username)?.unixUser }

    /// What the users file in force says about `username`, who authenticated with the token whose digest is
    /// `tokenDigest` (see `UserStore.standing(of:tokenDigest:)`). Without a users file (shared token, `--no-auth`)
    /// nothing can change: the one identity there is an admin.
    func standing(of username: String, tokenDigest: TokenDigest?) -> CredentialStanding {
        guard case .users(let store)? = authenticator else {
            return .current(Identity(username: username, roles: ["admin"]))
        }
        return store.standing(of: username, tokenDigest: tokenDigest)
    }

    func replace(policy: Policy? = nil, authenticator: Authenticator? = nil) {
        state.withLock { state in
            if let policy { state.0 = policy }
            if let authenticator { state.1 = authenticator }
        }
    }
}
