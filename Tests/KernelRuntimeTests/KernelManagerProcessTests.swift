import Foundation
import Glibc
import JupyterProtocol
import Synchronization
import Testing
@testable import EventLoop
@testable import KernelRuntime

extension RealKernelTests {
@Suite struct KernelManagerProcessTests {
    func openDescriptorCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    /// Descriptors of one kind ("pidfd", "eventfd", "socket"...), from /proc/self/fd link targets.
    func descriptorCount(matching kind: String) -> Int {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.filter { ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) ?? "").contains(kind) }.count
    }

    func childPIDs() -> Set<Int32> {
        let me = getpid()
        var result: Set<Int32> = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8) else { continue }
            // Fields after the ")" of the command: state, ppid, ...
            guard let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, Int32(fields[1]) == me { result.insert(pid) }
        }
        return result
    }

    @Test func stoppedKernelMissesHeartbeatsAndRecovers() async throws {
        let runtime = TestKernels.tempDir()
        let (manager, group) = try TestKernels.manager(runtime: runtime, heartbeat: .milliseconds(100))
        defer { group.shutdown() }
        let kernel = try await manager.startKernel(name: "echo", owner: "alice").kernel
        let pid = try #require(await kernel.pid)
        try await Task.sleep(for: .milliseconds(400))
        #expect(await kernel.missedHeartbeats == 0)
        kill(pid, SIGSTOP)
        try await Task.sleep(for: .milliseconds(600))
        #expect(await kernel.missedHeartbeats >= 2)
        kill(pid, SIGCONT)
        var missed = await kernel.missedHeartbeats
        for _ in 0..<50 where missed > 0 {
            try await Task.sleep(for: .milliseconds(50))
            missed = await kernel.missedHeartbeats
        }
        #expect(missed == 0)
        await manager.shutdownAll()
    }

    @Test func messageModeInterrupt() async throws {
        let runtime = TestKernels.tempDir()
        let (manager, group) = try TestKernels.manager(runtime: runtime)
        defer { group.shutdown() }
        let kernel = try await manager.startKernel(name: "echo-message", owner: "alice").kernel
        let sink = RecordingSink()
        await kernel.setSink(sink)
        let (header, id) = TestKernels.request("execute_request")
        let content = #"{"code":"%sleep 30","silent":false,"store_history":true,"user_expressions":{},"allow_stdin":false}"#
        #expect(await kernel.send(.shell, header: header, content: Array(content.utf8)) == .sent)
        #expect(await sink.wait { $0.contains { $0.msgType == "execute_input" && $0.parentMsgID == id } })
        try await kernel.interrupt()
        #expect(await sink.wait { $0.contains { $0.msgType == "execute_reply" && $0.parentMsgID == id && $0.content.contains("KeyboardInterrupt") } })
        await manager.shutdownAll()
    }

    /// The manager's one table with real kernels: the attachment is made before the kernel is visible, the
    /// gateway-wide limit counts a kernel once, removal hands the entry back exactly once and before
    /// `shutdownKernel` returns, and `shutdownAll` refuses later starts.
    @Test func tableAttachesLimitsRemovesOnceAndClosesOnShutdownAll() async throws {
        let runtime = TestKernels.tempDir()
        let group = try EventLoopGroup(count: 2)
        defer { group.shutdown() }
        let removed = Mutex<[String]>([])
        let manager = KernelManager<String>(
            group: group, configuration: TestKernels.configuration(runtime: runtime, maxKernels: 1),
            logger: TestKernels.logger) { entry in removed.withLock { $0.append(entry.attachment) } }

        let start = manager.beginStart(owner: "alice")
        #expect(start.ownedKernelCount == 0)
        let entry = try await manager.startKernel(start, name: "echo") { kernel in
            "\(kernel.id) visible while attaching: \(manager.entry(id: kernel.id) != nil)"
        }
        #expect(entry.attachment == "\(entry.id) visible while attaching: false")
        #expect(manager.all.map(\.id) == [entry.id])
        #expect(manager.entry(id: entry.id)?.attachment == entry.attachment)
        // The start ended when the kernel entered the table: alice has one kernel, counted once.
        let probe = manager.beginStart(owner: "alice")
        #expect(probe.ownedKernelCount == 1)
        manager.endStart(probe)

        do {
            _ = try await manager.startKernel(manager.beginStart(owner: "bob"), name: "echo") { _ in "never" }
            Issue.record("a second kernel started past --max-kernels 1")
        } catch let error as KernelManagerError {
            #expect(error.code == .limitReached)
        }

        try await manager.shutdownKernel(id: entry.id)
        #expect(manager.count == 0)
        #expect(manager.entry(id: entry.id) == nil)
        #expect(removed.withLock { $0 } == [entry.attachment])
        // The kernel's own exit notice comes later and finds nothing to remove.
        try await Task.sleep(for: .milliseconds(200))
        #expect(removed.withLock { $0 } == [entry.attachment])

        let second = try await manager.startKernel(manager.beginStart(owner: "bob"), name: "echo") { kernel in kernel.id }
        await manager.shutdownAll()
        do {
            _ = try await manager.startKernel(manager.beginStart(owner: "carol"), name: "echo") { _ in "never" }
            Issue.record("a kernel started after shutdownAll")
        } catch let error as KernelManagerError {
            #expect(error.code == .shuttingDown)
        }
        var left = manager.count
        for _ in 0..<50 where left > 0 {
            try await Task.sleep(for: .milliseconds(50))
            left = manager.count
        }
        #expect(left == 0)
        #expect(removed.withLock { $0 } == [entry.attachment, second.id])
        try? FileManager.default.removeItem(atPath: runtime)
    }

    @Test func brokenKernelspecsGiveClearErrorsAndLeakNothing() async throws {
        let runtime = TestKernels.tempDir()
        let specs = TestKernels.tempDir()
        let fm = FileManager.default
        for (name, json) in [("badjson", "{not json"), ("noargv", #"{"display_name": "x"}"#),
                             ("missingexe", #"{"argv": ["/nonexistent/kernel-binary", "{connection_file}"], "display_name": "x"}"#)] {
            try fm.createDirectory(atPath: "\(specs)/\(name)", withIntermediateDirectories: true)
            try json.write(toFile: "\(specs)/\(name)/kernel.json", atomically: true, encoding: .utf8)
        }
        let (manager, group) = try TestKernels.manager(extraSpecDirs: [specs], runtime: runtime)
        defer { group.shutdown() }
        let fdsBefore = openDescriptorCount()
        for name in ["badjson", "noargv"] {
            await #expect(throws: KernelManagerError.self) { _ = try await manager.startKernel(name: name, owner: "a") }
        }
        do {
            _ = try await manager.startKernel(name: "missingexe", owner: "a")
            Issue.record("a kernel with a missing executable started")
        } catch let error as KernelManagerError {
            #expect(error.message.contains("/nonexistent/kernel-binary"))
            #expect(error.message.contains("kernel.json"))
        }
        let problems = await manager.catalog.problems.map(\.name).sorted()
        #expect(problems == ["badjson", "noargv"])
        #expect(manager.count == 0)
        let leftovers = (try? fm.contentsOfDirectory(atPath: runtime))?.filter { $0.hasPrefix("kernel-") } ?? []
        #expect(leftovers.isEmpty)
        #expect(openDescriptorCount() <= fdsBefore)
    }

    @Test func hundredEchoKernelsStartAndStopWithoutLeaks() async throws {
        let runtime = TestKernels.tempDir()
        let (manager, group) = try TestKernels.manager(runtime: runtime)
        defer { group.shutdown() }
        // One kernel first: ZeroMQ creates its I/O thread descriptors with the first socket.
        let warmUp = try await manager.startKernel(name: "echo", owner: "warm")
        try await manager.shutdownKernel(id: warmUp.id)
        try await Task.sleep(for: .milliseconds(100))
        let fdsBefore = openDescriptorCount()
        let pidfdsBefore = descriptorCount(matching: "pidfd")
        let childrenBefore = childPIDs()
        let kernels = try await withThrowingTaskGroup(of: Kernel.self) { tasks in
            for i in 0..<100 { tasks.addTask { try await manager.startKernel(name: "echo", owner: "user\(i % 10)").kernel } }
            var all: [Kernel] = []
            for try await kernel in tasks { all.append(kernel) }
            return all
        }
        #expect(kernels.count == 100)
        #expect(manager.count == 100)
        #expect(childPIDs().subtracting(childrenBefore).count == 100)
        await withTaskGroup(of: Void.self) { tasks in
            for kernel in kernels { tasks.addTask { try? await manager.shutdownKernel(id: kernel.id) } }
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(manager.count == 0)
        #expect(childPIDs().subtracting(childrenBefore).isEmpty)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: runtime))?.filter { $0.hasPrefix("kernel-") } ?? []
        #expect(leftovers.isEmpty)
        // Every kernel's pidfd is gone. Other suites running in parallel open and close descriptors too, so the
        // total gets a moment to settle and a slack far below one descriptor per kernel (a per-kernel leak would
        // show as 100 or more).
        #expect(descriptorCount(matching: "pidfd") <= pidfdsBefore)
        var fds = openDescriptorCount()
        for _ in 0..<30 where fds > fdsBefore + 16 {
            try await Task.sleep(for: .milliseconds(100))
            fds = openDescriptorCount()
        }
        #expect(fds <= fdsBefore + 16)
    }
}
}
