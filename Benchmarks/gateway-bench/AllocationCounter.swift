import CAllocCounter

/// Process-wide allocation counts from the `CAllocCounter` malloc replacements.
///
/// Counts every successful malloc-family call by any thread; benchmarks run on one thread and take deltas.
enum AllocationCounter {
    /// Allocation calls so far (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign, valloc).
    static var allocations: UInt64 { alloc_counter_allocations() }
    /// `free` calls with a non-NULL pointer so far.
    static var frees: UInt64 { alloc_counter_frees() }

    /// Result of `selfTest`: how many allocations were observed for `expected` heap arrays.
    struct SelfTest: Codable {
        var expected: Int
        var observed: Int
        var passed: Bool { observed == expected }
    }

    /// Creates `count` distinct heap arrays that are kept alive (so the optimiser cannot stack-promote or
    /// drop them) and reports how many allocations the counter saw. A working counter sees exactly `count`.
    static func selfTest(count: Int = 1000) -> SelfTest {
        var keep: [[Int]] = []
        keep.reserveCapacity(count)
        let before = allocations
        for i in 0..<count { keep.append(makeArray(i)) }
        let after = allocations
        sink(keep.count)
        return SelfTest(expected: count, observed: Int(after - before))
    }

    @inline(never)
    private static func makeArray(_ seed: Int) -> [Int] { [Int](repeating: seed, count: 16) }
}

/// Consumes a value so the optimiser must compute it; never true in practice.
@inline(never)
func sink(_ value: Int) {
    if value == 0x5EED_F00D_0BAD_CAFE { print("sink") }
}
