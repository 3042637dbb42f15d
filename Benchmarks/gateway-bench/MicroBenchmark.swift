/// One measured operation: a name, what it covers, and a body that performs it `iterations` times.
///
/// The body returns a checksum that the harness consumes, so the optimiser cannot drop the work. State the
/// body needs (buffers, signer, cache) is created once, outside the timed region, and captured.
struct MicroBenchmark {
    /// Scenario group: `inbound`, `outbound`, `router`, `piece` or `foundation`.
    var group: String
    /// Short unique name (used by `--filter` and in the JSON output).
    var name: String
    /// Size of the input message in bytes (0 when not meaningful).
    var bytes: Int
    /// What one operation covers.
    var note: String
    /// Performs the operation `iterations` times; throws if the operation fails (a broken fixture).
    var body: (_ iterations: Int) throws -> Int
}

extension MicroBenchmark {
    /// The wrapping sum of `operation()` over `iterations` calls: the checksum loop most bodies run. Always
    /// inlined (and `operation` is non-escaping), so the timed loop is the same as one written out in the body.
    @inline(__always)
    static func sum(_ iterations: Int, _ operation: () throws -> Int) rethrows -> Int {
        var sum = 0
        for _ in 0..<iterations { sum &+= try operation() }
        return sum
    }
}
