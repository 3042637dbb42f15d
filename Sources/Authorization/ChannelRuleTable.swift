/// The level each client-to-kernel message requires, keyed by `msg_type` alone.
///
/// A message type needs the same level on every channel: kernels accept many types on more than one channel
/// (ipykernel serves every shell request on control too, and `shutdown_request` and `interrupt_request` on
/// shell), so a level that held on one channel only could be bypassed by sending the message on another.
///
/// Resolution, for a `msg_type`:
/// 1. its own rule (`setRule`: the default table, or a policy's `*/<msg_type>`), which may lower or raise
///    the level; a type without one needs `unknownLevel` (default `execute`: a message the gateway does not
///    understand is treated as able to change the kernel);
/// 2. tightenings (`tighten`: a policy rule naming one channel) only raise that level, and raise it on every
///    channel. A tightening below the resolved level changes nothing (`Policy(fileContents:)` rejects one).
///
/// Lookups (`requiredLevel(msgType:)`) are on the per-message hot path: they take the raw bytes of the
/// `msg_type`, hash its length and first/last eight bytes, probe an open-addressing table and compare bytes,
/// without allocating.
///
/// A value: rebuild with `setRule`/`tighten` (which re-index the whole small table) and share read-only.
public struct ChannelRuleTable: Sendable {
    /// One rule: a message type and the level it needs.
    public struct Rule: Sendable, Hashable {
        /// The `msg_type`, exactly as it appears in headers.
        public var msgType: String
        /// The level needed to send it, on any channel.
        public var level: AccessLevel
        /// Creates a rule.
        public init(msgType: String, level: AccessLevel) {
            self.msgType = msgType
            self.level = level
        }
    }

    private struct Slot {
        var hash: UInt64 = 0
        var nameOffset: Int32 = 0
        var nameLength: Int32 = -1  // -1 marks an empty slot
        var level: UInt8 = 0
    }

    /// Level required by message types without a rule of their own (before tightenings).
    public private(set) var unknownLevel: AccessLevel
    private var ownLevels: [String: AccessLevel]
    private var floors: [String: AccessLevel]
    private var slots: [Slot]
    private var names: [UInt8]
    private var mask: Int

    /// Creates a table from `rules` (later rules for the same type win) and the level for unknown types.
    public init(rules: [Rule], unknownLevel: AccessLevel = .execute) {
        self.unknownLevel = unknownLevel
        self.ownLevels = [:]
        self.floors = [:]
        self.slots = []
        self.names = []
        self.mask = 0
        for r in rules { ownLevels[r.msgType] = r.level }
        rebuild()
    }

    /// The default table: `defaultRules` (docs/authorization.md), unknown types need `execute`.
    public static let defaults = ChannelRuleTable(rules: defaultRules)

    /// Sets the level `msgType` needs on every channel (may lower or raise it; tightenings still apply).
    public mutating func setRule(msgType: String, level: AccessLevel) {
        ownLevels[msgType] = level
        rebuild()
    }

    /// Raises the level `msgType` needs to at least `level`, on every channel; never lowers it. Tightenings
    /// of one type combine (the highest wins) and survive later `setRule` and `setUnknownLevel` calls.
    public mutating func tighten(msgType: String, to level: AccessLevel) {
        floors[msgType] = max(floors[msgType] ?? .none, level)
        rebuild()
    }

    /// Removes the rule and the tightenings of `msgType`, so it needs `unknownLevel`.
    public mutating func removeRule(msgType: String) {
        ownLevels[msgType] = nil
        floors[msgType] = nil
        rebuild()
    }

    /// Sets the level required by types without a rule of their own.
    public mutating func setUnknownLevel(_ level: AccessLevel) {
        unknownLevel = level
        rebuild()
    }

    /// The level `msgType` needs from its own rule (or `unknownLevel`), ignoring tightenings.
    public func ownLevel(msgType: String) -> AccessLevel { ownLevels[msgType] ?? unknownLevel }

    /// Every type with a rule or a tightening and the level it needs, sorted by message type.
    public var rules: [Rule] {
        Set(ownLevels.keys).union(floors.keys).sorted().map { Rule(msgType: $0, level: resolvedLevel($0)) }
    }

    /// The level required to send `msgType`, on any channel. Does not allocate; O(1).
    /// - Parameter msgType: the unescaped ASCII bytes of `header.msg_type`; only read during the call.
    @inlinable
    public func requiredLevel(msgType: UnsafeRawBufferPointer) -> AccessLevel {
        AccessLevel(rawValue: lookup(msgType)) ?? unknownLevel
    }

    /// Convenience for tests and configuration code; allocates nothing beyond what `String` already holds.
    public func requiredLevel(msgType: String) -> AccessLevel {
        var s = msgType
        return s.withUTF8 { requiredLevel(msgType: UnsafeRawBufferPointer($0)) }
    }

    private func resolvedLevel(_ msgType: String) -> AccessLevel {
        max(ownLevels[msgType] ?? unknownLevel, floors[msgType] ?? .none)
    }

    /// Returns the stored level's raw value, or 0xFF when absent.
    @usableFromInline
    func lookup(_ key: UnsafeRawBufferPointer) -> UInt8 {
        let h = Self.hash(key)
        return slots.withUnsafeBufferPointer { slots in
            names.withUnsafeBufferPointer { names in
                var i = Int(truncatingIfNeeded: h) & mask
                while true {
                    let slot = slots[i]
                    if slot.nameLength < 0 { return 0xFF }
                    if slot.hash == h, Int(slot.nameLength) == key.count, let base = names.baseAddress,
                        memcmpBytes(key.baseAddress, UnsafeRawPointer(base + Int(slot.nameOffset)), key.count)
                    {
                        return slot.level
                    }
                    i = (i + 1) & mask
                }
            }
        }
    }

    /// Mixes length and the first and last eight bytes. Message types differ in those places
    /// (`comm_open` vs `comm_msg`, `..._request` suffixes share tails but not heads), and equal hashes are
    /// still settled by comparing bytes.
    @inline(__always)
    static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        let n = key.count
        var head: UInt64 = 0
        var tail: UInt64 = 0
        if let p = key.baseAddress {
            if n >= 8 {
                head = p.loadUnaligned(as: UInt64.self)
                tail = p.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            } else {
                for i in 0..<n { head |= UInt64(p.load(fromByteOffset: i, as: UInt8.self)) << UInt64(i * 8) }
            }
        }
        var h = head &* 0x9E37_79B9_7F4A_7C15
        h ^= (tail &* 0xC2B2_AE3D_27D4_EB4F) >> 7 | (tail &* 0xC2B2_AE3D_27D4_EB4F) << 57
        h ^= UInt64(n) << 8
        h ^= h >> 29
        h &*= 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return h
    }

    /// Stores every type's resolved level (own rule or `unknownLevel`, raised by its tightenings).
    private mutating func rebuild() {
        let types = Set(ownLevels.keys).union(floors.keys)
        var capacity = 8
        while capacity < types.count * 2 + 2 { capacity <<= 1 }  // load factor under one half: short probes
        var newSlots = [Slot](repeating: Slot(), count: capacity)
        var newNames: [UInt8] = []
        let newMask = capacity - 1
        for type in types {
            var name = type
            let h = name.withUTF8 { Self.hash(UnsafeRawBufferPointer($0)) }
            var i = Int(truncatingIfNeeded: h) & newMask
            while newSlots[i].nameLength >= 0 { i = (i + 1) & newMask }
            newSlots[i] = Slot(
                hash: h, nameOffset: Int32(newNames.count), nameLength: Int32(type.utf8.count),
                level: resolvedLevel(type).rawValue)
            newNames.append(contentsOf: type.utf8)
        }
        slots = newSlots
        names = newNames
        mask = newMask
    }
}

/// Byte equality of `count` bytes; `a` may be nil only when `count` is 0.
@inline(__always)
func memcmpBytes(_ a: UnsafeRawPointer?, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
    guard let a else { return count == 0 }
    var i = 0
    while i + 8 <= count {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
            return false
        }
        i += 8
    }
    while i < count {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i += 1
    }
    return true
}
