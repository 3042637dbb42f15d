/// A binary min-heap of (deadline, id) pairs: the timer queue of an `EventLoop`. Pure value type.
///
/// Cancellation is lazy: the loop forgets a cancelled id's callback and skips the entry when it expires, which
/// keeps cancel O(1).
struct TimerHeap {
    private var entries: [(deadline: UInt64, id: UInt64)] = []

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }
    var nextDeadline: UInt64? { entries.first?.deadline }

    mutating func insert(deadline: UInt64, id: UInt64) {
        entries.append((deadline, id))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.less(entries[child], entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the id of the earliest entry whose deadline is at or before `now`.
    mutating func popExpired(now: UInt64) -> UInt64? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < entries.count && Self.less(entries[left], entries[smallest]) { smallest = left }
                if right < entries.count && Self.less(entries[right], entries[smallest]) { smallest = right }
                if smallest == parent { break }
                entries.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first.id
    }

    private static func less(_ a: (deadline: UInt64, id: UInt64), _ b: (deadline: UInt64, id: UInt64)) -> Bool {
        a.deadline < b.deadline || (a.deadline == b.deadline && a.id < b.id)
    }
}
