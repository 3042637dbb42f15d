import Testing
@testable import KernelRuntime

/// The kernel table without kernels: entries are strings, starts are driven by hand.
@Suite struct KernelTableTests {
    /// Begins, admits and inserts one start for `owner`, as the manager does for a kernel that starts.
    func add(_ table: inout KernelTable<String>, _ id: String, owner: String, maxKernels: Int = 0) throws {
        let start = table.beginStart(owner: owner)
        try table.admit(start, maxKernels: maxKernels)
        try table.insert(start, id: id, value: "value of \(id)")
    }

    @Test func entriesKeepStartOrderThroughRemovals() throws {
        var table = KernelTable<String>()
        for (id, owner) in [("a", "alice"), ("b", "bob"), ("c", "alice"), ("d", "carol")] {
            try add(&table, id, owner: owner)
        }
        #expect(table.all == ["value of a", "value of b", "value of c", "value of d"])
        #expect(table.count == 4)
        #expect(table.entry(id: "c") == "value of c")
        #expect(table.remove(id: "b") == "value of b")
        try add(&table, "e", owner: "bob")
        #expect(table.all == ["value of a", "value of c", "value of d", "value of e"])
        #expect(table.entry(id: "b") == nil)
        #expect(table.count == 4)
    }

    @Test func removalReturnsEachEntryOnce() throws {
        var table = KernelTable<String>()
        try add(&table, "a", owner: "alice")
        #expect(table.remove(id: "a") == "value of a")
        #expect(table.remove(id: "a") == nil)
        #expect(table.remove(id: "never") == nil)
        #expect(table.count == 0)
        #expect(table.count(ownedBy: "alice") == 0)
    }

    @Test func countsPerOwnerFollowInsertsAndRemovals() throws {
        var table = KernelTable<String>()
        try add(&table, "a1", owner: "alice")
        try add(&table, "a2", owner: "alice")
        try add(&table, "b1", owner: "bob")
        #expect(table.count(ownedBy: "alice") == 2)
        #expect(table.count(ownedBy: "bob") == 1)
        #expect(table.count(ownedBy: "carol") == 0)
        table.remove(id: "a1")
        #expect(table.count(ownedBy: "alice") == 1)
        table.remove(id: "b1")
        #expect(table.count(ownedBy: "bob") == 0)
    }

    @Test func ownedCountIncludesStartsInFlightAndNeverCountsAKernelTwice() throws {
        var table = KernelTable<String>()
        try add(&table, "a1", owner: "alice")
        let first = table.beginStart(owner: "alice")
        #expect(first.ownedKernelCount == 1)
        let second = table.beginStart(owner: "alice")
        #expect(second.ownedKernelCount == 2)
        #expect(table.beginStart(owner: "bob").ownedKernelCount == 0)
        #expect(table.startsInFlight(ownedBy: "alice") == 2)
        try table.admit(first, maxKernels: 0)
        try table.insert(first, id: "a2", value: "value of a2")
        // The start became the entry in one step: one kernel, counted once.
        #expect(table.count(ownedBy: "alice") == 2)
        #expect(table.startsInFlight(ownedBy: "alice") == 1)
        #expect(table.beginStart(owner: "alice").ownedKernelCount == 3)
        table.endStart(second)
        #expect(table.startsInFlight(ownedBy: "alice") == 1)
    }

    @Test func endStartIsIdempotentAndDoesNothingAfterInsert() throws {
        var table = KernelTable<String>()
        let start = table.beginStart(owner: "alice")
        try table.admit(start, maxKernels: 0)
        try table.insert(start, id: "a", value: "value of a")
        table.endStart(start)
        table.endStart(start)
        #expect(table.startsInFlight == 0)
        #expect(table.admittedStarts == 0)
        #expect(table.count(ownedBy: "alice") == 1)
        let denied = table.beginStart(owner: "alice")
        table.endStart(denied)
        table.endStart(denied)
        #expect(table.startsInFlight(ownedBy: "alice") == 0)
        #expect(table.beginStart(owner: "alice").ownedKernelCount == 1)
    }

    @Test func globalLimitCountsEntriesAndAdmittedStartsOnly() throws {
        var table = KernelTable<String>()
        try add(&table, "a", owner: "alice", maxKernels: 2)
        // Begun but not admitted (e.g. waiting for authorization): not counted against the gateway-wide limit.
        let waiting = table.beginStart(owner: "bob")
        let admitted = table.beginStart(owner: "bob")
        try table.admit(admitted, maxKernels: 2)
        #expect(table.admittedStarts == 1)
        #expect(throws: KernelManagerError(.limitReached, "gateway-wide kernel limit reached: 2 of at most 2 kernels are running")) {
            try table.admit(waiting, maxKernels: 2)
        }
        // Admitting again is not counting twice.
        try table.admit(admitted, maxKernels: 2)
        #expect(table.admittedStarts == 1)
        try table.insert(admitted, id: "b", value: "value of b")
        #expect(table.admittedStarts == 0)
        #expect(throws: KernelManagerError.self) { try table.admit(waiting, maxKernels: 2) }
        table.remove(id: "a")
        try table.admit(waiting, maxKernels: 2)
        #expect(table.admittedStarts == 1)
        // A failed admitted start frees its place.
        table.endStart(waiting)
        #expect(table.admittedStarts == 0)
        let next = table.beginStart(owner: "carol")
        try table.admit(next, maxKernels: 2)
        // No limit.
        for index in 0..<50 { try add(&table, "many\(index)", owner: "dave", maxKernels: 0) }
        #expect(table.count == 51)
    }

    /// Issue 10: the last `reserved` slots of the gateway-wide limit admit only starts that may use the reserve
    /// (admins), counted with admitted starts in flight, so one user cannot lock admins out.
    @Test func reservedSlotsAdmitOnlyStartsThatMayUseThem() throws {
        var table = KernelTable<String>()
        func admit(_ owner: String, admin: Bool = false, reserved: Int = 1) throws -> KernelStart {
            let start = table.beginStart(owner: owner, mayUseReserve: admin)
            do { try table.admit(start, maxKernels: 3, reserved: reserved) } catch {
                table.endStart(start)
                throw error
            }
            return start
        }
        #expect(!table.beginStart(owner: "x").mayUseReserve && table.beginStart(owner: "y", mayUseReserve: true).mayUseReserve)
        table = KernelTable<String>()
        let first = try admit("bob")
        try table.insert(first, id: "b1", value: "b1")
        _ = try admit("bob")  // admitted, still starting: it counts
        #expect(throws: KernelManagerError(
            .reservedForAdmins, "the last 1 of the gateway's 3 kernel slots are reserved for admins (2 kernels are running)")) {
            _ = try admit("alice")
        }
        let root = try admit("root", admin: true)
        #expect(throws: KernelManagerError(.limitReached, "gateway-wide kernel limit reached: 3 of at most 3 kernels are running")) {
            _ = try admit("root", admin: true)
        }
        // A freed slot goes to whoever asks first, reserve or not.
        table.endStart(root)
        #expect(throws: KernelManagerError.self) { _ = try admit("alice") }
        table.remove(id: "b1")
        _ = try admit("alice")
        #expect(table.admittedStarts == 2)
        // No reserve: everyone may fill the gateway; a reserve larger than the limit keeps every slot for admins.
        table = KernelTable<String>()
        for owner in ["a", "b", "c"] { _ = try admit(owner, reserved: 0) }
        table = KernelTable<String>()
        #expect(throws: KernelManagerError.self) { _ = try admit("a", reserved: 5) }
        for _ in 0..<3 { _ = try admit("root", admin: true, reserved: 5) }
        // Without a gateway-wide limit there is nothing to reserve.
        table = KernelTable<String>()
        for index in 0..<10 {
            let start = table.beginStart(owner: "u")
            try table.admit(start, maxKernels: 0, reserved: 1)
            try table.insert(start, id: "k\(index)", value: "k")
        }
        #expect(table.count == 10)
    }

    @Test func closedTableRefusesAdmissionAndInsertButKeepsEntries() throws {
        var table = KernelTable<String>()
        try add(&table, "a", owner: "alice")
        let inFlight = table.beginStart(owner: "alice")
        try table.admit(inFlight, maxKernels: 0)
        table.close()
        #expect(table.isClosed)
        let late = table.beginStart(owner: "bob")
        #expect(throws: KernelManagerError(.shuttingDown, "the gateway is shutting down")) {
            try table.admit(late, maxKernels: 0)
        }
        #expect(throws: KernelManagerError(.shuttingDown, "the gateway is shutting down")) {
            try table.insert(inFlight, id: "b", value: "value of b")
        }
        // The refused insert ended its start.
        #expect(table.admittedStarts == 0)
        #expect(table.startsInFlight(ownedBy: "alice") == 0)
        #expect(table.all == ["value of a"])
        #expect(table.remove(id: "a") == "value of a")
    }

    @Test func insertNeedsAnAdmittedLiveStartAndAFreshID() throws {
        var table = KernelTable<String>()
        let notAdmitted = table.beginStart(owner: "alice")
        #expect(throws: KernelManagerError.self) { try table.insert(notAdmitted, id: "a", value: "x") }
        try table.admit(notAdmitted, maxKernels: 0)
        try table.insert(notAdmitted, id: "a", value: "value of a")
        // Its start ended with the insert.
        #expect(throws: KernelManagerError.self) { try table.insert(notAdmitted, id: "b", value: "x") }
        #expect(throws: KernelManagerError.self) { try table.admit(notAdmitted, maxKernels: 0) }
        let duplicate = table.beginStart(owner: "bob")
        try table.admit(duplicate, maxKernels: 0)
        #expect(throws: KernelManagerError.self) { try table.insert(duplicate, id: "a", value: "other") }
        #expect(table.entry(id: "a") == "value of a")
        #expect(table.count(ownedBy: "bob") == 0)
        // A refused duplicate leaves the start admitted and in flight for its owner to end.
        #expect(table.admittedStarts == 1)
        table.endStart(duplicate)
        #expect(table.admittedStarts == 0)
        #expect(table.startsInFlight == 0)
    }
}
