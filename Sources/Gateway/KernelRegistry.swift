import Authorization
import KernelRuntime
import Synchronization

/// The gateway's view of one running kernel: the actor, who may use it, and its channel hub.
final class KernelRecord: Sendable {
    let kernel: Kernel
    let access: KernelAccessBox
    let hub: ChannelHub

    init(kernel: Kernel, access: KernelAccessBox, hub: ChannelHub) {
        self.kernel = kernel
        self.access = access
        self.hub = hub
    }

    var id: String { kernel.id }
}

/// Every running kernel by id, in start order. Thread-safe.
final class KernelRegistry: Sendable {
    private let records = Mutex<(byID: [String: KernelRecord], order: [String])>(([:], []))

    func add(_ record: KernelRecord) {
        records.withLock {
            $0.byID[record.id] = record
            $0.order.append(record.id)
        }
    }

    @discardableResult
    func remove(_ id: String) -> KernelRecord? {
        records.withLock {
            guard let record = $0.byID.removeValue(forKey: id) else { return nil }
            $0.order.removeAll { $0 == id }
            return record
        }
    }

    func record(_ id: String) -> KernelRecord? { records.withLock { $0.byID[id] } }

    var all: [KernelRecord] { records.withLock { state in state.order.compactMap { state.byID[$0] } } }

    /// Kernels owned by `username`.
    func count(ownedBy username: String) -> Int {
        all.filter { $0.kernel.owner == username }.count
    }

    private let startsInFlight = Mutex<[String: Int]>([:])

    /// Kernels owned by `username` plus their starts still in flight, and counts one more start in flight, so
    /// concurrent start requests cannot all pass a per-user kernel limit. Pair every call with `endStart(for:)`
    /// after the started kernel was `add`ed (or the start failed or was denied).
    func beginStart(for username: String) -> Int {
        startsInFlight.withLock { inFlight in
            let owned = count(ownedBy: username) + inFlight[username, default: 0]
            inFlight[username, default: 0] += 1
            return owned
        }
    }

    /// Ends a start counted by `beginStart(for:)`.
    func endStart(for username: String) {
        startsInFlight.withLock { inFlight in
            let left = inFlight[username, default: 1] - 1
            inFlight[username] = left > 0 ? left : nil
        }
    }

    var totalConnections: Int { all.reduce(0) { $0 + $1.hub.connectionCount } }
}
