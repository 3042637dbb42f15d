import Synchronization

/// The state of one fan-out (or liveness) round, shared by every observing client across loops.
final class RoundState: Sendable {
    /// The sequence number of the round's request in the executor's msg_id space (UInt64.max: no round).
    let round = Atomic<UInt64>(UInt64.max)
    let sentAt = Atomic<UInt64>(0)
    let seen = Atomic<Int>(0)
    let firstSeenAt = Atomic<UInt64>(UInt64.max)
    let lastSeenAt = Atomic<UInt64>(0)
    let executorReplied = Atomic<Bool>(false)
    let executorIdle = Atomic<Bool>(false)

    /// Resets the counters for round `seq` (call before the executor sends).
    func reset(_ seq: UInt64) {
        seen.store(0, ordering: .relaxed)
        firstSeenAt.store(UInt64.max, ordering: .relaxed)
        lastSeenAt.store(0, ordering: .relaxed)
        executorReplied.store(false, ordering: .relaxed)
        executorIdle.store(false, ordering: .relaxed)
        round.store(seq, ordering: .sequentiallyConsistent)
    }
}
