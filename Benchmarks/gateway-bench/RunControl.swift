import Synchronization

/// Shared, thread-safe state of one load run: the stop flag, the request budget (`--messages`), and counters
/// every client bumps. Atomics only (relaxed: the counters are totals read after the fact or sampled).
final class RunControl: Sendable {
    let stopping = Atomic<Bool>(false)
    /// Requests started so far; with a budget, a client starts one only while this stays below `budget`.
    let issued = Atomic<Int>(0)
    let budget: Int
    let opened = Atomic<Int>(0)
    let failedToOpen = Atomic<Int>(0)
    let completed = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
    let wsSent = Atomic<Int>(0)
    let wsReceived = Atomic<Int>(0)

    init(budget: Int = Int.max) {
        self.budget = budget
    }

    /// Reserves one request from the budget; false when stopping or the budget is used up.
    @inline(__always)
    func reserve() -> Bool {
        if stopping.load(ordering: .relaxed) { return false }
        if budget == Int.max { return true }
        return issued.wrappingAdd(1, ordering: .relaxed).oldValue < budget
    }

    /// The message counters at one instant (each read separately; good enough for rates over seconds).
    var snapshot: (completed: Int, sent: Int, received: Int, errors: Int) {
        (completed.load(ordering: .relaxed), wsSent.load(ordering: .relaxed), wsReceived.load(ordering: .relaxed),
         errors.load(ordering: .relaxed))
    }
}

// `Atomic<UInt64>.min/.max` in this toolchain compare as signed (a UInt64.max start value never moves), so the
// benchmark uses its own compare-exchange loops.
extension Atomic where Value == UInt64 {
    /// Stores `value` if it is smaller than the current one.
    func storeMin(_ value: UInt64) {
        var current = load(ordering: .relaxed)
        while value < current {
            let (exchanged, original) = compareExchange(expected: current, desired: value, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// Stores `value` if it is larger than the current one.
    func storeMax(_ value: UInt64) {
        var current = load(ordering: .relaxed)
        while value > current {
            let (exchanged, original) = compareExchange(expected: current, desired: value, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}
