import Testing
@testable import HTTPServer

@Suite struct ConnectionCountsTests {
    @Test func perAddressLimitRefusesOnlyThatAddress() {
        var counts = ConnectionCounts(maxTotal: 10, maxPerAddress: 2)
        #expect(counts.admit("10.0.0.1") == nil)
        #expect(counts.admit("10.0.0.1") == nil)
        #expect(counts.admit("10.0.0.1") == .perAddress)
        #expect(counts.admit("10.0.0.2") == nil)
        #expect(counts.count(of: "10.0.0.1") == 2)
        #expect(counts.total == 3)
        counts.release("10.0.0.1")
        #expect(counts.admit("10.0.0.1") == nil)
    }

    @Test func totalLimitRefusesEveryAddress() {
        var counts = ConnectionCounts(maxTotal: 2, maxPerAddress: 2)
        #expect(counts.admit("a") == nil)
        #expect(counts.admit("b") == nil)
        #expect(counts.admit("c") == .total)
        // Both limits reached: the total is reported.
        #expect(counts.admit("a") == .total)
        #expect(counts.total == 2)
        counts.release("b")
        #expect(counts.admit("c") == nil)
    }

    @Test func releaseForgetsEmptyAddressesAndIgnoresUnknownOnes() {
        var counts = ConnectionCounts(maxTotal: 5, maxPerAddress: 5)
        _ = counts.admit("a")
        counts.release("a")
        counts.release("a")
        counts.release("never")
        #expect(counts == ConnectionCounts(maxTotal: 5, maxPerAddress: 5))
    }

    @Test func aLeaseReleasesItsPlaceExactlyOnce() {
        let limiter = ConnectionLimiter(maxTotal: 1, maxPerAddress: 1)
        guard case .admitted(let lease) = limiter.admit("a") else { Issue.record("not admitted"); return }
        guard case .refused(.total) = limiter.admit("b") else { Issue.record("second admitted"); return }
        lease.release()
        lease.release()
        #expect(limiter.total == 0)
        guard case .admitted(let second) = limiter.admit("b") else { Issue.record("not admitted after release"); return }
        _ = second
        #expect(limiter.total == 1)
    }

    @Test func aDroppedLeaseReleasesItsPlace() {
        let limiter = ConnectionLimiter(maxTotal: 1, maxPerAddress: 1)
        do {
            guard case .admitted = limiter.admit("a") else { Issue.record("not admitted"); return }
        }
        #expect(limiter.total == 0)
    }
}
