import CLinuxShim
import Glibc
import Synchronization

/// One thread running `epoll_wait`, with an eventfd for wake-ups, a timer heap and a job queue.
///
/// An `EventLoop` is a `SerialExecutor`: an actor whose `unownedExecutor` returns
/// `loop.asUnownedSerialExecutor()` runs all its code on this loop's thread. File-descriptor handlers and timers
/// also run on that thread, so an actor pinned to a loop can react to socket readiness synchronously (through
/// `assumeIsolated`) without a hop or an `await`: this is how the message hot path stays on one thread.
///
/// Thread-safety: `enqueue`, `execute`, `inEventLoop` and `shutdown` may be called from any thread. Registration
/// of descriptors and timers must happen on the loop's own thread (checked by precondition).
public final class EventLoop: SerialExecutor, @unchecked Sendable {
    // @unchecked Sendable, audited: `pending` is behind a Mutex, `threadID` and `running` are atomics; every other
    // stored property is touched only on the loop thread (guarded by `preconditionInEventLoop`).

    /// What a readiness handler receives: the epoll event bits (`EPOLLIN`, `EPOLLOUT`, `EPOLLHUP`, `EPOLLERR`...).
    public typealias Events = UInt32
    public typealias Handler = @Sendable (Events) -> Void

    /// Readable (`EPOLLIN`).
    public static let readable: Events = UInt32(EPOLLIN.rawValue)
    /// Writable (`EPOLLOUT`).
    public static let writable: Events = UInt32(EPOLLOUT.rawValue)
    /// The peer closed its end or the descriptor failed (`EPOLLHUP | EPOLLERR | EPOLLRDHUP`).
    public static let hangup: Events = UInt32(EPOLLHUP.rawValue) | UInt32(EPOLLERR.rawValue) | UInt32(EPOLLRDHUP.rawValue)

    public let index: Int
    private let epollFD: Int32
    private let wakeFD: Int32
    private let pending = Mutex(PendingWork())
    private let threadID = Atomic<UInt>(0)
    private let running = Atomic<Bool>(true)
    private let sleeping = Atomic<Bool>(false)

    private var handlers: [Handler?] = []
    private var timers = TimerHeap()
    private var timerCallbacks: [UInt64: @Sendable () -> Void] = [:]
    private var nextTimerID: UInt64 = 1
    private var thread: pthread_t?

    /// A 64 KiB buffer for socket reads, shared by every connection on this loop (loop thread only). Reads hand
    /// their bytes to a delegate synchronously, so one buffer per loop serves any number of connections; this
    /// keeps an idle connection's memory small.
    public let readScratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

    private struct PendingWork: ~Copyable {
        var jobs: [UnownedJob] = []
        var closures: [@Sendable () -> Void] = []
    }

    /// Creates the loop and starts its thread.
    /// - Throws: `SystemError` when epoll or eventfd cannot be created, or the thread cannot start.
    public init(index: Int = 0) throws {
        self.index = index
        let ep = kg_epoll_create()
        guard ep >= 0 else { throw SystemError("epoll_create1") }
        let wake = kg_eventfd()
        guard wake >= 0 else { close(ep); throw SystemError("eventfd") }
        epollFD = ep
        wakeFD = wake
        guard kg_epoll_ctl(ep, EPOLL_CTL_ADD, wake, EventLoop.readable, UInt64(wake)) == 0 else {
            close(ep); close(wake); throw SystemError("epoll_ctl(eventfd)")
        }
        try startThread()
    }

    deinit {
        close(epollFD)
        close(wakeFD)
        readScratch.deallocate()
    }

    private func startThread() throws {
        let box = Unmanaged.passRetained(self)
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { raw in
            guard let raw else { return nil }
            let loop = Unmanaged<EventLoop>.fromOpaque(raw).takeRetainedValue()
            loop.run()
            return nil
        }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            throw SystemError("pthread_create", code: rc)
        }
        thread = tid
    }

    // MARK: - Executor

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        pending.withLock { $0.jobs.append(unowned) }
        wakeIfNeeded()
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    public func checkIsolated() {
        precondition(inEventLoop, "not on event loop \(index)'s thread")
    }

    public func isIsolatingCurrentContext() -> Bool? {
        inEventLoop
    }

    /// True when the calling thread is this loop's thread.
    public var inEventLoop: Bool {
        threadID.load(ordering: .acquiring) == UInt(pthread_self())
    }

    /// Traps unless called on the loop's thread.
    @inline(__always)
    public func preconditionInEventLoop(file: StaticString = #fileID, line: UInt = #line) {
        precondition(inEventLoop, "must run on event loop \(index)", file: file, line: line)
    }

    /// Runs `work` on the loop's thread soon (after the current iteration's ready handlers). Any thread.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        pending.withLock { $0.closures.append(work) }
        wakeIfNeeded()
    }

    private func wakeIfNeeded() {
        // Only a sleeping loop needs the eventfd write; a running one picks the work up before it sleeps again.
        if !inEventLoop && sleeping.load(ordering: .sequentiallyConsistent) {
            _ = kg_eventfd_signal(wakeFD)
        }
    }

    // MARK: - Descriptors

    /// Registers `fd` for `events` (epoll bits, level-triggered unless `EPOLLET` is included). The handler runs on
    /// the loop thread each time epoll reports the descriptor. Loop thread only. The caller keeps ownership of
    /// the descriptor and must `deregister` it before closing it.
    public func register(fd: Int32, events: Events, handler: @escaping Handler) throws {
        preconditionInEventLoop()
        guard fd >= 0 else { throw SystemError("register: bad descriptor", code: EBADF) }
        let index = Int(fd)
        if index >= handlers.count {
            handlers.append(contentsOf: repeatElement(nil, count: index - handlers.count + 64))
        }
        guard kg_epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, events, UInt64(fd)) == 0 else {
            throw SystemError("epoll_ctl(ADD)")
        }
        handlers[index] = handler
    }

    /// Changes the event mask of a registered descriptor. Loop thread only.
    public func modify(fd: Int32, events: Events) throws {
        preconditionInEventLoop()
        guard kg_epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, events, UInt64(fd)) == 0 else {
            throw SystemError("epoll_ctl(MOD)")
        }
    }

    /// Removes a descriptor; its handler will not run again. Loop thread only. Safe to call from the descriptor's
    /// own handler.
    public func deregister(fd: Int32) {
        preconditionInEventLoop()
        _ = kg_epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, 0, 0)
        if fd >= 0 && Int(fd) < handlers.count { handlers[Int(fd)] = nil }
    }

    // MARK: - Timers

    /// Runs `body` on the loop thread once, after `delay`. Loop thread only. Returns a handle for `cancelTimer`.
    @discardableResult
    public func scheduleTimer(after delay: Duration, _ body: @escaping @Sendable () -> Void) -> TimerHandle {
        preconditionInEventLoop()
        let id = nextTimerID
        nextTimerID &+= 1
        let deadline = Monotonic.now &+ UInt64(max(0, delay.nanoseconds))
        timers.insert(deadline: deadline, id: id)
        timerCallbacks[id] = body
        return TimerHandle(id: id)
    }

    /// Cancels a timer that has not fired yet; does nothing otherwise. Loop thread only.
    public func cancelTimer(_ handle: TimerHandle) {
        preconditionInEventLoop()
        timerCallbacks[handle.id] = nil
    }

    // MARK: - Lifecycle

    /// Stops the loop after its current iteration and waits for the thread to end. Must not be called from the
    /// loop's own thread. Jobs still queued are dropped.
    public func shutdown() {
        precondition(!inEventLoop, "EventLoop.shutdown from its own thread would deadlock")
        running.store(false, ordering: .releasing)
        _ = kg_eventfd_signal(wakeFD)
        if let thread {
            pthread_join(thread, nil)
            self.thread = nil
        }
    }

    private func run() {
        threadID.store(UInt(pthread_self()), ordering: .releasing)
        var datas = [UInt64](repeating: 0, count: 256)
        var events = [UInt32](repeating: 0, count: 256)
        while running.load(ordering: .acquiring) {
            let timeout = nextTimeoutMilliseconds()
            let count: Int32
            if timeout != 0 {
                sleeping.store(true, ordering: .sequentiallyConsistent)
                // Re-check after announcing sleep: work queued in between must not wait for the timeout.
                let hasWork = pending.withLock { !$0.jobs.isEmpty || !$0.closures.isEmpty }
                count = datas.withUnsafeMutableBufferPointer { d in
                    events.withUnsafeMutableBufferPointer { e in
                        kg_epoll_wait(epollFD, d.baseAddress, e.baseAddress, 256, hasWork ? 0 : timeout)
                    }
                }
                sleeping.store(false, ordering: .releasing)
            } else {
                count = datas.withUnsafeMutableBufferPointer { d in
                    events.withUnsafeMutableBufferPointer { e in
                        kg_epoll_wait(epollFD, d.baseAddress, e.baseAddress, 256, 0)
                    }
                }
            }
            if count > 0 {
                for i in 0..<Int(count) {
                    let fd = Int32(truncatingIfNeeded: datas[i])
                    if fd == wakeFD {
                        _ = kg_eventfd_drain(wakeFD)
                        continue
                    }
                    if Int(fd) < handlers.count, let handler = handlers[Int(fd)] {
                        handler(events[i])
                    }
                }
            }
            runExpiredTimers()
            runPendingWork()
        }
    }

    private func nextTimeoutMilliseconds() -> Int32 {
        guard let deadline = timers.nextDeadline else { return -1 }
        let now = Monotonic.now
        if deadline <= now { return 0 }
        let ms = (deadline - now + 999_999) / 1_000_000
        return Int32(min(ms, 60_000))
    }

    private func runExpiredTimers() {
        guard timers.nextDeadline != nil else { return }
        let now = Monotonic.now
        while let id = timers.popExpired(now: now) {
            if let body = timerCallbacks.removeValue(forKey: id) { body() }
        }
    }

    private func runPendingWork() {
        // Bounded rounds so a job that keeps enqueueing cannot starve descriptors and timers.
        for _ in 0..<4 {
            let work = pending.withLock { state -> ([UnownedJob], [@Sendable () -> Void]) in
                defer { state.jobs.removeAll(keepingCapacity: true); state.closures.removeAll(keepingCapacity: true) }
                return (state.jobs, state.closures)
            }
            if work.0.isEmpty && work.1.isEmpty { return }
            let executor = asUnownedSerialExecutor()
            for job in work.0 { job.runSynchronously(on: executor) }
            for closure in work.1 { closure() }
        }
    }
}

/// Identifies a scheduled timer for `EventLoop.cancelTimer`.
public struct TimerHandle: Hashable, Sendable {
    let id: UInt64
}

extension Duration {
    /// The duration in whole nanoseconds, saturating.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return ns &+ attoseconds / 1_000_000_000
    }
}
