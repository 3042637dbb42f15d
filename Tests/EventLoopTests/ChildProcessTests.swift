import Glibc
import Testing
@testable import EventLoop

actor ProcessOwner {
    let loop: EventLoop
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
    var process: ChildProcess?
    init(loop: EventLoop) { self.loop = loop }

    func run(_ path: String, _ args: [String], signal: Int32? = nil) async throws -> ProcessExitStatus {
        try await withCheckedThrowingContinuation { done in
            do {
                process = try ChildProcess(path: path, arguments: args, environment: ["PATH=/usr/bin:/bin"], loop: loop) {
                    done.resume(returning: $0)
                }
                if let signal { process?.signalGroup(signal) }
            } catch {
                done.resume(throwing: error)
            }
        }
    }
}

@Suite struct ChildProcessTests {
    @Test func exitCodeIsReported() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let owner = ProcessOwner(loop: loop)
        #expect(try await owner.run("/bin/sh", ["sh", "-c", "exit 7"]) == .exited(7))
    }

    @Test func signalToGroupKillsChildAndGrandchildren() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let owner = ProcessOwner(loop: loop)
        let status = try await owner.run("/bin/sh", ["sh", "-c", "sleep 30 & sleep 30; wait"], signal: SIGTERM)
        #expect(status == .signaled(SIGTERM))
    }

    @Test func missingExecutableThrows() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let owner = ProcessOwner(loop: loop)
        await #expect(throws: SystemError.self) { try await owner.run("/nonexistent/kernel", ["k"]) }
    }
}
