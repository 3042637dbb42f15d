import Authorization
import Synchronization

/// The shared, mutable ownership and grants of one kernel. REST handlers change it; the channel hub reads it on
/// every message through the generation counter, which is one atomic load on the hot path (the full record is
/// copied under the lock only when the generation moved, i.e. after a share or revoke).
final class KernelAccessBox: Sendable {
    private let record: Mutex<KernelAccess>
    private let currentGeneration: Atomic<UInt64>

    init(owner: String) {
        let access = KernelAccess(owner: owner)
        record = Mutex(access)
        currentGeneration = Atomic(access.generation)
    }

    /// Changes bump this; compare with a cached value to know whether a decision is still valid.
    @inline(__always)
    var generation: UInt64 { currentGeneration.load(ordering: .acquiring) }

    var snapshot: KernelAccess { record.withLock { $0 } }

    /// Applies `change` and publishes the new generation. Returns what `change` returned.
    func update<R>(_ change: (inout KernelAccess) -> R) -> R {
        record.withLock { access in
            let result = change(&access)
            currentGeneration.store(access.generation, ordering: .releasing)
            return result
        }
    }
}
