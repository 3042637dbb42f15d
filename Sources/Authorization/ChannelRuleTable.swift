import JupyterProtocol
/// The level each client-to-kernel message requires, keyed by channel and `msg_type`.
///
/// Lookups (`requiredLevel(channel:msgType:)`) are on the per-message hot path: they take the raw bytes of
/// the `msg_type`, hash its length and first/last eight bytes, probe an open-addressing table and compare
/// bytes, without allocating. Types not in the table require `unknownLevel` (default `execute`: a message
/// the gateway does not understand is treated as able to change the kernel).
///
/// A value: rebuild with `setRule` (which re-indexes the whole small table) and share read-only.
public struct ChannelRuleTable: Sendable {
    /// One rule: a message type on one channel and the level it needs.
    public struct Rule: Sendable, Hashable {
        public var channel: Channel
        public var msgType: String
        public var level: AccessLevel
        /// Creates a rule.
        public init(channel: Channel, msgType: String, level: AccessLevel) {
            self.channel = channel
            self.msgType = msgType
            self.level = level
        }
    }

    private struct Slot {
        var hash: UInt64 = 0
        var nameOffset: Int32 = 0
        var nameLength: Int32 = -1  // -1 marks an empty slot
        var channel: UInt8 = 0
        var level: UInt8 = 0
    }

    /// Level required by message types the table does not list.
    public private(set) var unknownLevel: AccessLevel
    private var byKey: [Channel: [String: AccessLevel]]
    private var slots: [Slot]
    private var names: [UInt8]
    private var mask: Int

    /// Creates a table from `rules` (later rules for the same key win) and the level for unknown types.
    public init(rules: [Rule], unknownLevel: AccessLevel = .execute) {
        self.unknownLevel = unknownLevel
        self.byKey = [:]
        self.slots = []
        self.names = []
        self.mask = 0
        for r in rules { byKey[r.channel, default: [:]][r.msgType] = r.level }
        rebuild()
    }

    /// The defaults described in docs/authorization.md.
    public static let defaultRules: [Rule] = {
        var rules: [Rule] = []
        for t in ["execute_request", "comm_open", "comm_msg", "comm_close"] {
            rules.append(Rule(channel: .shell, msgType: t, level: .execute))
        }
        for t in [
            "kernel_info_request", "complete_request", "inspect_request", "history_request",
            "is_complete_request", "comm_info_request",
        ] {
            rules.append(Rule(channel: .shell, msgType: t, level: .read))
        }
        for t in ["interrupt_request", "shutdown_request", "debug_request"] {
            rules.append(Rule(channel: .control, msgType: t, level: .execute))
        }
        rules.append(Rule(channel: .control, msgType: "kernel_info_request", level: .read))
        rules.append(Rule(channel: .stdin, msgType: "input_reply", level: .execute))
        return rules
    }()

    /// The default table: `defaultRules`, unknown types need `execute`.
    public static let defaults = ChannelRuleTable(rules: defaultRules)

    /// Sets the level for `msgType` on `channel`, or on every channel when `channel` is nil.
    public mutating func setRule(channel: Channel?, msgType: String, level: AccessLevel) {
        for c in channel.map({ [$0] }) ?? Channel.messageChannels { byKey[c, default: [:]][msgType] = level }
        rebuild()
    }

    /// Removes the rule for `msgType` on `channel` (or every channel), so it falls back to `unknownLevel`.
    public mutating func removeRule(channel: Channel?, msgType: String) {
        for c in channel.map({ [$0] }) ?? Channel.messageChannels { byKey[c]?[msgType] = nil }
        rebuild()
    }

    /// Sets the level required by types without a rule.
    public mutating func setUnknownLevel(_ level: AccessLevel) { unknownLevel = level }

    /// Every rule, sorted by channel then message type.
    public var rules: [Rule] {
        Channel.messageChannels.flatMap { c in
            (byKey[c] ?? [:]).map { Rule(channel: c, msgType: $0.key, level: $0.value) }
                .sorted { $0.msgType < $1.msgType }
        }
    }

    /// The level required to send `msgType` on `channel`. Does not allocate; O(1).
    /// - Parameter msgType: the unescaped ASCII bytes of `header.msg_type`; only read during the call.
    @inlinable
    public func requiredLevel(channel: Channel, msgType: UnsafeRawBufferPointer) -> AccessLevel {
        AccessLevel(rawValue: lookup(channel: UInt8(channel.index), msgType)) ?? unknownLevel
    }

    /// Convenience for tests and configuration code; allocates nothing beyond what `String` already holds.
    public func requiredLevel(channel: Channel, msgType: String) -> AccessLevel {
        var s = msgType
        return s.withUTF8 { requiredLevel(channel: channel, msgType: UnsafeRawBufferPointer($0)) }
    }

    /// Returns the stored level's raw value, or 0xFF when absent.
    @usableFromInline
    func lookup(channel: UInt8, _ key: UnsafeRawBufferPointer) -> UInt8 {
        let h = Self.hash(channel: channel, key)
        return slots.withUnsafeBufferPointer { slots in
            names.withUnsafeBufferPointer { names in
                var i = Int(truncatingIfNeeded: h) & mask
                while true {
                    let slot = slots[i]
                    if slot.nameLength < 0 { return 0xFF }
                    if slot.hash == h, Int(slot.nameLength) == key.count, slot.channel == channel,
                        let base = names.baseAddress,
                        memcmpBytes(key.baseAddress, UnsafeRawPointer(base + Int(slot.nameOffset)), key.count)
                    {
                        return slot.level
                    }
                    i = (i + 1) & mask
                }
            }
        }
    }

    /// Mixes channel, length and the first and last eight bytes. Message types differ in those places
    /// (`comm_open` vs `comm_msg`, `..._request` suffixes share tails but not heads), and equal hashes are
    /// still settled by comparing bytes.
    @inline(__always)
    static func hash(channel: UInt8, _ key: UnsafeRawBufferPointer) -> UInt64 {
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
        h ^= UInt64(n) << 8 | UInt64(channel)
        h ^= h >> 29
        h &*= 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return h
    }

    private mutating func rebuild() {
        let count = byKey.values.reduce(0) { $0 + $1.count }
        var capacity = 8
        while capacity < count * 2 + 2 { capacity <<= 1 }  // load factor under one half: short probes
        var newSlots = [Slot](repeating: Slot(), count: capacity)
        var newNames: [UInt8] = []
        let newMask = capacity - 1
        for (channel, types) in byKey {
            for (type, level) in types {
                var name = type
                let h = name.withUTF8 { Self.hash(channel: UInt8(channel.index), UnsafeRawBufferPointer($0)) }
                var i = Int(truncatingIfNeeded: h) & newMask
                while newSlots[i].nameLength >= 0 { i = (i + 1) & newMask }
                newSlots[i] = Slot(
                    hash: h, nameOffset: Int32(newNames.count), nameLength: Int32(type.utf8.count),
                    channel: UInt8(channel.index), level: level.rawValue)
                newNames.append(contentsOf: type.utf8)
            }
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
