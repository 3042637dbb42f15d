/// Carries a non-Sendable value across an isolation boundary that the compiler cannot see is safe.
///
/// The one audited escape hatch for the hot path: a loop-bound object calls into an actor pinned to the SAME
/// loop with `actor.assumeIsolated { ... }`, which runs synchronously on the current thread, so a borrowed buffer
/// pointer passed this way is never actually shared between threads. Use it only for such same-thread calls.
public struct UnsafeTransfer<Value>: @unchecked Sendable {
    public let value: Value

    @inline(__always)
    public init(_ value: Value) { self.value = value }
}
