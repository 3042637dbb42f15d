/// Per-connection cache of the user's usable level on one kernel, for checking every client message.
///
/// Owned by the connection (a value, mutated only on the connection's event-loop thread). The level is
/// recomputed only when the kernel's `KernelAccess.generation` differs from the one it was computed at, so
/// a revoked grant takes effect on the very next message, and an unchanged record costs one integer
/// comparison plus one rule lookup.
public struct ChannelPermissionCache: Sendable {
    /// The connection's resolved roles (fixed for the connection's life; replace the cache if they change).
    public let permissions: EffectivePermissions
    /// The rules messages are checked against.
    public let rules: ChannelRuleTable
    private var cachedLevel: AccessLevel = .none
    private var cachedGeneration: UInt64 = 0
    private var isValid = false

    /// Creates an empty cache for `identity` under `policy`; the first check computes the level.
    public init(policy: Policy, identity: Identity) {
        self.permissions = policy.permissions(for: identity)
        self.rules = policy.channelRules
    }

    /// Creates an empty cache from already-resolved permissions and a rule table.
    public init(permissions: EffectivePermissions, rules: ChannelRuleTable) {
        self.permissions = permissions
        self.rules = rules
    }

    /// The user's usable level on the kernel, recomputed via `access` only when `generation` changed
    /// (or after `invalidate()`). `access` is called at most once and not stored.
    @inlinable
    public mutating func level(generation: UInt64, access: () -> KernelAccess) -> AccessLevel {
        if _slowPath(!isCurrent(generation)) { recompute(generation: generation, access: access()) }
        return currentLevel
    }

    /// Checks one message: may the user send `msgType` to this kernel? The answer is the same on every
    /// channel (see `ChannelRuleTable`).
    /// - Parameters:
    ///   - msgType: the unescaped ASCII bytes of `header.msg_type`, only read during the call.
    ///   - generation: the kernel's current `KernelAccess.generation`.
    ///   - access: returns the kernel's current record; called only when `generation` changed.
    /// Does not allocate when the generation is unchanged.
    @inlinable
    public mutating func check(
        msgType: UnsafeRawBufferPointer, generation: UInt64, access: () -> KernelAccess
    ) -> ChannelDecision {
        let had = level(generation: generation, access: access)
        let required = rules.requiredLevel(msgType: msgType)
        return had >= required ? .allowed : .denied(required: required, had: had)
    }

    /// Same as the closure form, with the record itself (its generation is read from it).
    @inlinable
    public mutating func check(msgType: UnsafeRawBufferPointer, access: KernelAccess) -> ChannelDecision {
        check(msgType: msgType, generation: access.generation) { access }
    }

    /// Convenience for tests and non-hot paths.
    public mutating func check(msgType: String, access: KernelAccess) -> ChannelDecision {
        var s = msgType
        return s.withUTF8 { check(msgType: UnsafeRawBufferPointer($0), access: access) }
    }

    /// Forgets the cached level so the next check recomputes it whatever the generation.
    public mutating func invalidate() { isValid = false }

    /// Whether a level computed at `generation` is cached.
    @inlinable public func isCurrent(_ generation: UInt64) -> Bool { _isValid && _cachedGeneration == generation }

    @usableFromInline var _isValid: Bool { isValid }
    @usableFromInline var _cachedGeneration: UInt64 { cachedGeneration }
    @usableFromInline var currentLevel: AccessLevel { cachedLevel }

    @usableFromInline
    mutating func recompute(generation: UInt64, access: KernelAccess) {
        cachedLevel = permissions.effectiveLevel(on: access)
        cachedGeneration = generation
        isValid = true
    }
}
