import EventLoop

/// A load client whose requests run through a `RequestPipeline` (`RequestClient`, `DirectClient`): what the
/// requests and direct modes need to end a run and collect its latencies.
protocol RequestLoadClient: AnyObject, Sendable {
    /// The loop the client is bound to.
    var loop: EventLoop { get }
    /// Completion times and latencies of the measured requests (any thread).
    var latencies: LatencyLog { get }
    /// True while any request is outstanding. Loop thread.
    var hasPending: Bool { get }
    /// The latest error, if any. Loop thread.
    var lastError: String? { get }
    /// Forgets outstanding requests; returns how many measured ones there were. Loop thread.
    func abandonPending() -> Int
}

extension Array where Element: RequestLoadClient {
    /// Ends a run: tells `control` to stop, lets outstanding requests finish for up to 10 s (not counted), then
    /// abandons the rest. Returns how many measured requests were abandoned and the first client's error.
    /// Calling thread (not a client loop).
    func stopRequests(_ control: RunControl) -> (unfinished: Int, sampleError: String?) {
        control.stopping.store(true, ordering: .relaxed)
        _ = waitUntil(deadline: Monotonic.now &+ 10_000_000_000) {
            allSatisfy { c in onLoop(c.loop) { !c.hasPending } }
        }
        let unfinished = reduce(0) { sum, c in sum + onLoop(c.loop) { c.abandonPending() } }
        let sampleError = compactMap { c in onLoop(c.loop) { c.lastError } }.first
        return (unfinished, sampleError)
    }

    /// The percentiles of every client's requests that completed inside `window` (Monotonic ns).
    func latencySummary(in window: ClosedRange<UInt64>) -> LatencySummary {
        var latencies: [UInt64] = []
        for c in self { latencies += c.latencies.latencies(in: window) }
        return LatencySummary(nanoseconds: latencies)
    }
}
