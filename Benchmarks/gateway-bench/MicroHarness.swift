import Glibc

/// Times benchmarks: calibrates an iteration count so one run lasts about `minimumRunNanoseconds`, then
/// does `runs` timed runs, keeping the best and the median ns/op and the allocations per operation.
struct MicroHarness {
    /// Timed runs per benchmark (the best is the headline figure).
    var runs = 7
    /// Target duration of one run.
    var minimumRunNanoseconds: UInt64 = 50_000_000

    /// Measured figures for one benchmark.
    struct Result: Codable {
        var group: String
        var name: String
        var bytes: Int
        var note: String
        var nsPerOpBest: Double
        var nsPerOpMedian: Double
        /// Allocation calls per operation, averaged over all timed runs.
        var allocsPerOp: Double
        var iterationsPerRun: Int
        var runs: Int
    }

    func measure(_ benchmark: MicroBenchmark) throws -> Result {
        // Warm-up and calibration: grow the count until a run is long enough to time reliably.
        var iterations = 1
        while true {
            let elapsed = try timed(benchmark, iterations).nanoseconds
            if elapsed >= minimumRunNanoseconds / 4 || iterations >= 1 << 30 {
                let scale = Double(minimumRunNanoseconds) / Double(max(elapsed, 1))
                iterations = max(1, Int(Double(iterations) * scale))
                break
            }
            iterations *= elapsed < minimumRunNanoseconds / 64 ? 8 : 2
        }
        var perOp: [Double] = []
        var allocations: UInt64 = 0
        for _ in 0..<runs {
            let run = try timed(benchmark, iterations)
            perOp.append(Double(run.nanoseconds) / Double(iterations))
            allocations += run.allocations
        }
        perOp.sort()
        return Result(
            group: benchmark.group, name: benchmark.name, bytes: benchmark.bytes, note: benchmark.note,
            nsPerOpBest: perOp[0], nsPerOpMedian: perOp[perOp.count / 2],
            allocsPerOp: Double(allocations) / Double(iterations * runs), iterationsPerRun: iterations, runs: runs)
    }

    private func timed(_ benchmark: MicroBenchmark, _ iterations: Int) throws -> (nanoseconds: UInt64, allocations: UInt64) {
        let allocationsBefore = AllocationCounter.allocations
        let start = MicroHarness.now()
        let checksum = try benchmark.body(iterations)
        let end = MicroHarness.now()
        let allocationsAfter = AllocationCounter.allocations
        sink(checksum)
        return (end - start, allocationsAfter - allocationsBefore)
    }

    /// CLOCK_MONOTONIC in nanoseconds.
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
