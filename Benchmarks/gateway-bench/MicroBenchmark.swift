/// One measured operation: a name, what it covers, and a body that performs it `iterations` times.
///
/// The body returns a checksum that the harness consumes, so the optimiser cannot drop the work. State the
/// body needs (buffers, signer, cache) is created once, outside the timed region, and captured.
struct MicroBenchmark {
    /// Scenario group: `inbound`, `outbound`, `piece` or `foundation`.
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
