import Synchronization

/// The server's connection limits, shared by its loops: `admit` on accept hands out a `ConnectionLease`, whose
/// release frees the place again.
final class ConnectionLimiter: Sendable {
    let maxTotal: Int
    let maxPerAddress: Int
    private let counts: Mutex<ConnectionCounts>

    init(maxTotal: Int, maxPerAddress: Int) {
        self.maxTotal = maxTotal
        self.maxPerAddress = maxPerAddress
        counts = Mutex(ConnectionCounts(maxTotal: maxTotal, maxPerAddress: maxPerAddress))
    }

    /// The answer to a new connection.
    enum Admission {
        case admitted(ConnectionLease)
        case refused(HTTPServerEvent.Refusal)
    }

    /// A lease for a new connection from `address` (the numeric host, without port), or the limit refusing it.
    func admit(_ address: String) -> Admission {
        if let refusal = counts.withLock({ $0.admit(address) }) { return .refused(refusal) }
        return .admitted(ConnectionLease { [self] in counts.withLock { $0.release(address) } })
    }

    /// Open connections in total.
    var total: Int { counts.withLock { $0.total } }
}
