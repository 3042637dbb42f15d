/// A per-connection rate limit as a virtual schedule (the generic cell rate algorithm): each admitted message
/// moves `nextAllowed` one interval (1 s / rate) ahead; a message is refused while `nextAllowed` is more than
/// `burst - 1` intervals in the future. Integer nanoseconds, no clock of its own, no allocation.
package struct ReaderRateLimiter: Sendable, Equatable {
    /// Monotonic nanoseconds of the theoretical arrival time of the next message at the sustained rate.
    private var nextAllowed: UInt64 = 0

    package init() {}

    /// Whether a message arriving at `now` is within `limits`; if so, it is counted.
    package mutating func admit(now: UInt64, limits: ReaderLimits) -> Bool {
        let interval = 1_000_000_000 / UInt64(limits.messagesPerSecond)
        let tolerance = interval * UInt64(limits.burst - 1)
        let scheduled = max(nextAllowed, now)
        guard scheduled - now <= tolerance else { return false }
        nextAllowed = scheduled + interval
        return true
    }
}
