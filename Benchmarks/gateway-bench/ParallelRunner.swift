import Foundation
import Synchronization

/// Runs blocking work on real threads (not a bounded pool: `parallel` threads really run at once, which the
/// concurrent-start scenario needs) and returns the results in index order.
enum ParallelRunner {
    static func run<T: Sendable>(count: Int, parallel: Int, _ work: @escaping @Sendable (Int) -> T) -> [T] {
        guard count > 0 else { return [] }
        let shared = Shared<T>()
        let threads = max(1, min(parallel, count))
        let done = DispatchSemaphore(value: 0)
        for _ in 0..<threads {
            let thread = Thread {
                while true {
                    let i = shared.next.wrappingAdd(1, ordering: .relaxed).oldValue
                    if i >= count { break }
                    let value = work(i)
                    shared.results.withLock { $0[i] = value }
                }
                done.signal()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        for _ in 0..<threads { done.wait() }
        return shared.results.withLock { all in (0..<count).compactMap { all[$0] } }
    }
}

/// The state `ParallelRunner` threads share (a class, because atomics and mutexes cannot be captured by value).
private final class Shared<T: Sendable>: Sendable {
    let results = Mutex<[Int: T]>([:])
    let next = Atomic<Int>(0)
}
