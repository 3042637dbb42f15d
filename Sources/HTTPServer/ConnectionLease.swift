import Synchronization

/// One open connection's place in the server's connection limits (`HTTPServerConfiguration.maxConnections`,
/// `maxConnectionsPerAddress`). It travels with the socket: an upgraded connection (`UpgradedSocket.lease`) keeps
/// counting until its owner closes it.
///
/// Released once: by `release()` when the socket is closed, or at the latest when the lease is deallocated.
/// Thread-safe.
public final class ConnectionLease: Sendable {
    private let onRelease: @Sendable () -> Void
    private let released = Atomic<Bool>(false)

    init(onRelease: @escaping @Sendable () -> Void) {
        self.onRelease = onRelease
    }

    deinit { release() }

    /// Frees the place; later calls do nothing. Call when the connection's socket is closed.
    public func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        onRelease()
    }
}
