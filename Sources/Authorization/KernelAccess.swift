/// Who may use one kernel: its owner and per-user grants, plus a generation counter.
///
/// A plain value, owned by whoever owns the kernel (the gateway keeps it with the kernel's state). Every
/// mutation bumps `generation`, so a connection that cached a permission decision can tell in one integer
/// comparison that it must recompute (see `ChannelPermissionCache`). Grants above `execute` do not exist:
/// ownership is not shareable here, only `read` or `execute`.
public struct KernelAccess: Sendable, Hashable {
    /// A level that can be granted to a user who does not own the kernel.
    public enum Grant: String, Sendable, Hashable, CaseIterable {
        case read
        case execute

        /// The equivalent `AccessLevel`.
        public var level: AccessLevel { self == .read ? .read : .execute }
    }

    /// Username of the kernel's creator. Ownership implies full control (capped by the owner's roles).
    public private(set) var owner: String
    /// Per-user grants, keyed by username.
    public private(set) var grants: [String: Grant]
    /// Incremented on every change to `owner` or `grants`; starts at 1 for a new record.
    public private(set) var generation: UInt64

    /// Creates the record for a newly started kernel owned by `owner`, with no grants.
    public init(owner: String, grants: [String: Grant] = [:]) {
        self.owner = owner
        self.grants = grants
        self.generation = 1
    }

    /// The grant for `username`, or nil if they have none (the owner's own grant is irrelevant).
    public func grant(for username: String) -> Grant? { grants[username] }

    /// Sets or removes (`nil`, which the wire spelling "none" maps to) the grant of `username`.
    /// Granting to the owner is ignored because the owner already has full control; the generation is
    /// bumped only if something changed. Returns whether the record changed.
    /// Authorization of the change itself is the caller's job (`Policy.decide` with `.kernelAccessControl`).
    @discardableResult
    public mutating func setGrant(_ grant: Grant?, for username: String) -> Bool {
        if username == owner { return false }
        if grants[username] == grant { return false }
        grants[username] = grant
        generation &+= 1
        return true
    }

    /// Applies a grant given by its wire spelling: "read", "execute", or "none" (removes the grant).
    /// Returns nil for any other spelling (nothing changes), otherwise whether the record changed.
    public mutating func setGrant(named name: String, for username: String) -> Bool? {
        if name == "none" { return setGrant(nil, for: username) }
        guard let grant = Grant(rawValue: name) else { return nil }
        return setGrant(grant, for: username)
    }

    /// Removes the grants of every user `isKnown` rejects (for example users removed from the users file), so
    /// that an account created later under the same name does not inherit them. Bumps the generation once if
    /// anything was removed. Returns the removed usernames, sorted.
    @discardableResult
    public mutating func removeGrants(unless isKnown: (String) -> Bool) -> [String] {
        let removed = grants.keys.filter { !isKnown($0) }.sorted()
        guard !removed.isEmpty else { return [] }
        for user in removed { grants[user] = nil }
        generation &+= 1
        return removed
    }

    /// Hands the kernel to another user. The new owner's previous grant is dropped (ownership supersedes it).
    public mutating func transferOwnership(to username: String) {
        guard username != owner else { return }
        owner = username
        grants[username] = nil
        generation &+= 1
    }

    /// Marks the record changed without changing its content, for example after the policy or a user's
    /// roles were reloaded, so every connection re-evaluates its cached permission.
    public mutating func invalidate() { generation &+= 1 }
}
