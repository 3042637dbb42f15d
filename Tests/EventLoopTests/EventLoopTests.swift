import Glibc
import Synchronization
import Testing
@testable import EventLoop

/// An actor pinned to a loop, as kernels and connections are.
actor PinnedCounter {
    let loop: EventLoop
    var count = 0
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
    init(loop: EventLoop) { self.loop = loop }

    func increment() -> (Int, Bool) {
        count += 1
        return (count, loop.inEventLoop)
    }

    func scheduleTimers(_ delaysMs: [Int]) async -> [Int] {
        await withCheckedContinuation { (done: CheckedContinuation<[Int], Never>) in
            let order = Mutex<[Int]>([])
            for d in delaysMs {
                loop.scheduleTimer(after: .milliseconds(d)) {
                    let finished = order.withLock { o -> [Int]? in
                        o.append(d)
                        return o.count == delaysMs.count ? o : nil
                    }
                    if let finished { done.resume(returning: finished) }
                }
            }
        }
    }
}

final class SharedCount: Sendable {
    let value = Atomic<Int>(0)
    func add() { value.add(1, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}

@Suite struct EventLoopTests {
    @Test func actorPinnedToLoopRunsOnLoopThread() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let counter = PinnedCounter(loop: loop)
        var last = 0
        for _ in 0..<100 {
            let (n, onLoop) = await counter.increment()
            #expect(onLoop)
            last = n
        }
        #expect(last == 100)
        #expect(!loop.inEventLoop)
    }

    @Test func timersFireInDeadlineOrder() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let counter = PinnedCounter(loop: loop)
        let order = await counter.scheduleTimers([30, 10, 20, 0])
        #expect(order == [0, 10, 20, 30])
    }

    @Test func cancelledTimerDoesNotFire() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let fired = SharedCount()
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            loop.execute {
                let handle = loop.scheduleTimer(after: .milliseconds(5)) { fired.add() }
                loop.cancelTimer(handle)
                loop.scheduleTimer(after: .milliseconds(20)) { done.resume() }
            }
        }
        #expect(fired.current == 0)
    }

    @Test func executeFromManyThreadsRunsEverything() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let total = SharedCount()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<500 { loop.execute { total.add() } }
                }
            }
        }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            loop.execute { done.resume() }
        }
        #expect(total.current == 4000)
    }

    @Test func descriptorHandlerSeesPipeData() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
        let (readFD, writeFD) = (fds[0], fds[1])
        defer { close(readFD); close(writeFD) }
        let received: [UInt8] = await withCheckedContinuation { done in
            loop.execute {
                try? loop.register(fd: readFD, events: EventLoop.readable) { _ in
                    var buffer = [UInt8](repeating: 0, count: 16)
                    let n = read(readFD, &buffer, 16)
                    loop.deregister(fd: readFD)
                    done.resume(returning: Array(buffer.prefix(max(0, n))))
                }
                var bytes: [UInt8] = [1, 2, 3]
                _ = write(writeFD, &bytes, 3)
            }
        }
        #expect(received == [1, 2, 3])
    }

    @Test func groupSpreadsRoundRobin() throws {
        let group = try EventLoopGroup(count: 2)
        defer { group.shutdown() }
        let a = group.next(), b = group.next(), c = group.next()
        #expect(a !== b)
        #expect(a === c)
    }

    @Test func durationNanoseconds() {
        #expect(Duration.milliseconds(3).nanoseconds == 3_000_000)
        #expect(Duration.seconds(2).nanoseconds == 2_000_000_000)
    }
}

@Suite struct TimerHeapTests {
    @Test func popsInOrderAndOnlyExpired() {
        var heap = TimerHeap()
        var rng = SystemRandomNumberGenerator()
        var deadlines: [UInt64] = []
        for id in 0..<500 {
            let d = UInt64.random(in: 0..<10_000, using: &rng)
            deadlines.append(d)
            heap.insert(deadline: d, id: UInt64(id))
        }
        #expect(heap.popExpired(now: (deadlines.min() ?? 0) &- 1) == nil || deadlines.min() == 0)
        var popped: [UInt64] = []
        while let id = heap.popExpired(now: .max) { popped.append(deadlines[Int(id)]) }
        #expect(popped.count == 500)
        #expect(popped == popped.sorted())
        #expect(heap.isEmpty)
    }
}
