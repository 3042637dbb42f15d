import Glibc

/// Monotonic clock readings in nanoseconds (CLOCK_MONOTONIC), for deadlines and latency measurement.
public enum Monotonic {
    /// Nanoseconds since an arbitrary fixed point; never goes backwards.
    @inline(__always)
    public static var now: UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
