import Synchronization

/// Stream-mode bookkeeping of one client: which `%stream` sequence numbers arrived, duplicates, reordering.
final class StreamTally: Sendable {
    struct Counts: Sendable {
        var seen: [Bool]
        var received = 0
        var duplicates = 0
        var outOfOrder = 0
        var malformed = 0
        var last = -1

        /// Sequence numbers never received.
        var missing: Int { seen.reduce(0) { $0 + ($1 ? 0 : 1) } }
    }

    let counts: Mutex<Counts>

    init(expected: Int) {
        counts = Mutex(Counts(seen: [Bool](repeating: false, count: expected)))
    }

    /// Records one `stream` message whose text starts with `<seq>:`.
    func record(_ message: InboundMessage) {
        guard let range = message.contentMember("text"), range.count > 2 else {
            counts.withLock { $0.malformed += 1 }
            return
        }
        var value = 0
        var i = range.lowerBound + 1
        var digits = 0
        while i < range.upperBound - 1 {
            let d = message.frame[i] &- UInt8(ascii: "0")
            if d >= 10 { break }
            value = value &* 10 &+ Int(d)
            digits += 1
            i += 1
        }
        let valid = digits > 0 && i < range.upperBound - 1 && message.frame[i] == UInt8(ascii: ":")
        counts.withLock { c in
            guard valid, value < c.seen.count else {
                c.malformed += 1
                return
            }
            c.received += 1
            if c.seen[value] { c.duplicates += 1 } else { c.seen[value] = true }
            if value < c.last { c.outOfOrder += 1 }
            c.last = value
        }
    }

    /// Sequence numbers never received.
    var missing: Int { counts.withLock { $0.missing } }
}
