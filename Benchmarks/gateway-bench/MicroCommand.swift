import Foundation

/// `gateway-bench micro`: runs the hot-path micro-benchmarks and prints a table or JSON.
enum MicroCommand {
    static let usage = """
        usage: gateway-bench micro [--json] [--json-out FILE] [--filter SUBSTRING] [--runs N] [--run-ms MS] [--check]

        Times each hot-path scenario (best and median of N runs of about MS milliseconds each) and counts
        malloc-family calls per operation. Build with: swift build -c release --product gateway-bench

          --json        machine-readable output on stdout
          --json-out F  also write the machine-readable report to file F
          --filter S    only benchmarks whose name contains S (repeatable)
          --runs N      timed runs per benchmark (default 7)
          --run-ms MS   target duration of one run (default 50)
          --check       exit 1 if a target (inbound < 2 us, permission check < 50 ns, no allocation
                        on the inbound path apart from the HMAC) is missed
        """

    /// A performance target and whether the measured figure meets it.
    struct Target: Codable {
        var description: String
        var benchmark: String
        var limit: Double
        var measured: Double
        var unit: String
        var met: Bool
    }

    /// Everything `--json` prints.
    struct Report: Codable {
        var machine: Machine
        var command: String
        var allocationCounterSelfTest: AllocationCounter.SelfTest
        var results: [MicroHarness.Result]
        var targets: [Target]
    }

    /// Where the figures were measured.
    struct Machine: Codable {
        var date: String
        var cpuModel: String
        var onlineCPUs: Int
        var loadAverageAtStart: String
        var swiftBuild: String
    }

    /// Runs the subcommand with its arguments; returns the process exit status.
    static func run(_ arguments: [String]) -> Int32 {
        var harness = MicroHarness()
        var json = false
        var jsonPath: String?
        var check = false
        var filters: [String] = []
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--json": json = true
            case "--check": check = true
            case "--json-out":
                guard let value = rest.popFirst() else { return fail("--json-out needs a file name") }
                jsonPath = value
            case "--filter":
                guard let value = rest.popFirst() else { return fail("--filter needs a value") }
                filters.append(value)
            case "--runs":
                guard let value = rest.popFirst().flatMap({ Int($0) }), value > 0 else { return fail("--runs needs a positive integer") }
                harness.runs = value
            case "--run-ms":
                guard let value = rest.popFirst().flatMap({ UInt64($0) }), value > 0 else { return fail("--run-ms needs a positive integer") }
                harness.minimumRunNanoseconds = value * 1_000_000
            case "-h", "--help":
                print(usage)
                return 0
            default:
                return fail("unknown option \(argument)")
            }
        }

        let selfTest = AllocationCounter.selfTest()
        guard selfTest.passed else {
            return fail("allocation counter self-test failed: \(selfTest.expected) arrays, \(selfTest.observed) allocations")
        }
        let machine = Machine.current()
        let suite: MicroSuite
        do { suite = try MicroSuite() } catch { return fail("setup failed: \(error)") }
        let selected = suite.benchmarks.filter { b in filters.isEmpty || filters.contains { b.name.contains($0) } }
        guard !selected.isEmpty else { return fail("no benchmark matches the filter") }

        if !json {
            print("gateway-bench micro: \(machine.cpuModel), \(machine.onlineCPUs) CPUs, load \(machine.loadAverageAtStart), \(machine.date)")
            print("allocation counter self-test: \(selfTest.expected) arrays -> \(selfTest.observed) allocations (ok)")
            print("\(harness.runs) runs of ~\(harness.minimumRunNanoseconds / 1_000_000) ms each; ns/op best (median); allocs/op over all runs\n")
            print(MicroTable.header)
        }
        var results: [MicroHarness.Result] = []
        for benchmark in selected {
            do {
                let result = try harness.measure(benchmark)
                results.append(result)
                if !json { print(MicroTable.row(result)) }
            } catch {
                return fail("\(benchmark.name) failed: \(error)")
            }
        }
        let targets = evaluate(results)
        let report = Report(
            machine: machine, command: (["gateway-bench", "micro"] + arguments).joined(separator: " "),
            allocationCounterSelfTest: selfTest, results: results, targets: targets)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(report) else { return fail("could not encode the report") }
        if let jsonPath {
            do { try (data + Data("\n".utf8)).write(to: URL(fileURLWithPath: jsonPath)) } catch {
                return fail("could not write \(jsonPath): \(error)")
            }
        }
        if json {
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("")
            for target in targets { print(MicroTable.targetLine(target)) }
        }
        return check && targets.contains(where: { !$0.met }) ? 1 : 0
    }

    /// The targets the design sets, for whichever of their benchmarks ran.
    ///
    /// "No JSON tree" is judged on the no-HMAC ablations: a tree of this message costs dozens of
    /// allocations (see `foundation.JSONSerialization.parse`), so zero allocations per message proves there
    /// is none. The full paths' allocations are reported too; they come from OpenSSL's HMAC re-init.
    static func evaluate(_ results: [MicroHarness.Result]) -> [Target] {
        func find(_ name: String) -> MicroHarness.Result? { results.first { $0.name == name } }
        var targets: [Target] = []
        for name in ["inbound.legacy-text", "inbound.v1"] {
            guard let r = find(name) else { continue }
            targets.append(Target(
                description: "whole inbound path under 2 us", benchmark: name, limit: 2000, measured: r.nsPerOpBest,
                unit: "ns/op", met: r.nsPerOpBest < 2000))
        }
        for name in ["inbound.legacy-text.no-hmac", "inbound.v1.no-hmac"] {
            guard let r = find(name) else { continue }
            targets.append(Target(
                description: "0 JSON trees: no allocation in decode/scan/check/rewrite/frames", benchmark: name,
                limit: 0, measured: r.allocsPerOp, unit: "allocs/op", met: r.allocsPerOp == 0))
        }
        if let r = find("permission.check") {
            targets.append(Target(
                description: "permission check under 50 ns", benchmark: r.name, limit: 50, measured: r.nsPerOpBest,
                unit: "ns/op", met: r.nsPerOpBest < 50))
        }
        return targets
    }

    private static func fail(_ message: String) -> Int32 {
        FileStream.standardError.write("gateway-bench micro: \(message)\n")
        return 2
    }
}

extension MicroCommand.Machine {
    /// Reads the CPU model and load from /proc, the CPU count from sysconf.
    static func current() -> MicroCommand.Machine {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        let load = ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "")
            .split(separator: " ").prefix(3).joined(separator: " ")
        let formatter = ISO8601DateFormatter()
        #if DEBUG
        let build = "debug (figures are not meaningful; use -c release)"
        #else
        let build = "release"
        #endif
        return MicroCommand.Machine(
            date: formatter.string(from: Date()), cpuModel: model, onlineCPUs: sysconf(Int32(_SC_NPROCESSORS_ONLN)),
            loadAverageAtStart: load, swiftBuild: build)
    }
}
