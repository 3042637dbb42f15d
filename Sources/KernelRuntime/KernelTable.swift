/// The one table of running kernels: entries by id in start order, how many each owner has, and the starts on
/// their way in. A pure value (no locks, no I/O, no clock); `KernelManager` keeps it in a `Mutex`, so REST
/// handlers look kernels up without a hop onto the manager's actor.
///
/// A start goes `beginStart` → `admit` → `insert`, and can end early with `endStart` at any step:
/// - from `beginStart` it counts toward its owner's kernels (`ownedKernelCount`), so concurrent requests cannot
///   all pass a per-user limit;
/// - from `admit` it also counts toward the gateway-wide limit (`maxKernels`), of which the last `reserved` slots
///   are only for starts that may use the reserve (admins);
/// - `insert` turns it into an entry in one step, so no kernel is ever counted twice, or not at all.
/// Once `close`d (the gateway is stopping) the table admits and inserts nothing more.
struct KernelTable<Value: Sendable>: Sendable {
    private struct Slot: Sendable {
        let owner: String
        let value: Value
    }

    private struct PendingStart: Sendable {
        let owner: String
        var admitted: Bool
    }

    private var slots: [String: Slot] = [:]
    private var order: [String] = []
    private var ownedCounts: [String: Int] = [:]
    private var pending: [UInt64: PendingStart] = [:]
    private var pendingCounts: [String: Int] = [:]
    private var nextStartNumber: UInt64 = 1
    /// Starts counted against the gateway-wide limit that are not entries yet.
    private(set) var admittedStarts = 0
    /// True once `close()` was called.
    private(set) var isClosed = false

    // MARK: - Lookups

    /// The entry with this id.
    func entry(id: String) -> Value? { slots[id]?.value }

    /// Every entry in start order.
    var all: [Value] { order.compactMap { slots[$0]?.value } }

    /// Entries in the table (starts in flight not included).
    var count: Int { slots.count }

    /// Entries owned by `owner` (starts in flight not included).
    func count(ownedBy owner: String) -> Int { ownedCounts[owner, default: 0] }

    /// Starts of `owner` begun and not ended.
    func startsInFlight(ownedBy owner: String) -> Int { pendingCounts[owner, default: 0] }

    /// Starts begun and not ended, of every owner.
    var startsInFlight: Int { pending.count }

    // MARK: - Starts

    /// Counts one more start in flight for `owner`. The returned start carries the owner's entries plus their
    /// starts already in flight (this one not included), and whether it may use the reserved slots of the
    /// gateway-wide limit. Pair it with `insert` or `endStart`.
    mutating func beginStart(owner: String, mayUseReserve: Bool = false) -> KernelStart {
        let start = KernelStart(owner: owner, ownedKernelCount: count(ownedBy: owner) + startsInFlight(ownedBy: owner),
                                mayUseReserve: mayUseReserve, number: nextStartNumber)
        nextStartNumber += 1
        pending[start.number] = PendingStart(owner: owner, admitted: false)
        pendingCounts[owner, default: 0] += 1
        return start
    }

    /// Counts `start` against the gateway-wide limit of `maxKernels` (0 = no limit): entries plus admitted starts.
    /// The last `reserved` slots of it (at most `maxKernels`) admit only starts with `mayUseReserve`. Admitting a
    /// start twice does nothing more.
    /// - Throws: `.shuttingDown` once the table is closed, `.limitReached` at the limit, `.reservedForAdmins` when
    ///   only reserved slots are left for a start that may not use them, `.invalidRequest` for a start that already
    ///   ended. The start stays in flight after a throw; end it with `endStart`.
    mutating func admit(_ start: KernelStart, maxKernels: Int, reserved: Int = 0) throws(KernelManagerError) {
        guard !isClosed else { throw KernelManagerError(.shuttingDown, "the gateway is shutting down") }
        guard let current = pending[start.number] else {
            throw KernelManagerError(.invalidRequest, "the start of a kernel for \(start.owner) already ended")
        }
        if current.admitted { return }
        let running = slots.count + admittedStarts
        if maxKernels > 0 && running >= maxKernels {
            let reason = "gateway-wide kernel limit reached: \(running) of at most \(maxKernels) kernels are running"
            throw KernelManagerError(.limitReached, reason)
        }
        let reserve = min(max(reserved, 0), maxKernels)
        if maxKernels > 0 && !start.mayUseReserve && running >= maxKernels - reserve {
            let reason = "the last \(reserve) of the gateway's \(maxKernels) kernel slots are reserved for admins "
                + "(\(running) kernels are running)"
            throw KernelManagerError(.reservedForAdmins, reason)
        }
        pending[start.number]?.admitted = true
        admittedStarts += 1
    }

    /// Ends the admitted `start` by adding its kernel as `value` under `id`, last in start order.
    /// - Throws: `.shuttingDown` once the table is closed (the start ends, nothing is added); `.invalidRequest`
    ///   for a start not admitted or already ended, or an id already in the table (nothing changes).
    mutating func insert(_ start: KernelStart, id: String, value: Value) throws(KernelManagerError) {
        guard let current = pending[start.number], current.admitted else {
            throw KernelManagerError(.invalidRequest, "the start of a kernel for \(start.owner) is not admitted")
        }
        guard slots[id] == nil else { throw KernelManagerError(.invalidRequest, "kernel \(id) is already in the table") }
        guard !isClosed else {
            endStart(start)
            throw KernelManagerError(.shuttingDown, "the gateway is shutting down")
        }
        endStart(start)
        slots[id] = Slot(owner: current.owner, value: value)
        order.append(id)
        ownedCounts[current.owner, default: 0] += 1
    }

    /// Ends `start` without an entry (denied or failed). Does nothing for a start that already ended, so callers
    /// may `defer` it.
    mutating func endStart(_ start: KernelStart) {
        guard let ended = pending.removeValue(forKey: start.number) else { return }
        if ended.admitted { admittedStarts -= 1 }
        let left = pendingCounts[ended.owner, default: 1] - 1
        pendingCounts[ended.owner] = left > 0 ? left : nil
    }

    // MARK: - Removal

    /// Removes the entry with this id and returns it; nil when it is not (or no longer) in the table, so each
    /// entry is returned exactly once.
    @discardableResult
    mutating func remove(id: String) -> Value? {
        guard let slot = slots.removeValue(forKey: id) else { return nil }
        if let index = order.firstIndex(of: id) { order.remove(at: index) }
        let left = ownedCounts[slot.owner, default: 1] - 1
        ownedCounts[slot.owner] = left > 0 ? left : nil
        return slot.value
    }

    /// Refuses every later `admit` and `insert` (the gateway is stopping). Entries stay until removed.
    mutating func close() {
        isClosed = true
    }
}
