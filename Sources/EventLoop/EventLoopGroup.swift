import Synchronization
import Glibc

/// A fixed set of `EventLoop`s, one per core by default. Hands out loops round-robin (`next()`) so kernels and
/// connections spread over the cores.
public final class EventLoopGroup: Sendable {
    public let loops: [EventLoop]
    private let counter = Atomic<Int>(0)

    /// Starts `count` loops (at least one).
    /// - Throws: `SystemError` when a loop cannot start; loops already started are shut down.
    public init(count: Int = EventLoopGroup.defaultLoopCount) throws {
        var started: [EventLoop] = []
        do {
            for i in 0..<max(1, count) { started.append(try EventLoop(index: i)) }
        } catch {
            for loop in started { loop.shutdown() }
            throw error
        }
        loops = started
    }

    /// One loop per online core.
    public static var defaultLoopCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// The next loop in round-robin order. Any thread.
    public func next() -> EventLoop {
        let i = counter.add(1, ordering: .relaxed).oldValue
        return loops[i % loops.count]
    }

    /// Stops every loop and joins their threads. Not from a loop thread.
    public func shutdown() {
        for loop in loops { loop.shutdown() }
    }
}
