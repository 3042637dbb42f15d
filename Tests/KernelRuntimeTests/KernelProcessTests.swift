import Basics
import Foundation
import Glibc
import JupyterProtocol
import Logging
import Synchronization
import Testing
@testable import EventLoop
@testable import KernelRuntime

/// Collects what kernels send, for assertions.
final class RecordingSink: KernelMessageSink, Sendable {
    struct Record: Sendable {
        let channel: Channel
        let msgType: String
        let parentMsgID: String?
        let content: String
    }
    private let records = Mutex<[Record]>([])
    private let states = Mutex<[KernelLifecycle.ExecutionState]>([])

    func kernel(_ kernelID: String, didReceive channel: Channel, frames: [[UInt8]], layout: ZMQFrameLayout,
                header: HeaderFields) {
        let msgType = frames[layout.header].withUnsafeBytes { JSONScanner($0).stringMember("msg_type") } ?? "?"
        let parent = frames[layout.parentHeader].withUnsafeBytes { JSONScanner($0).stringMember("msg_id") }
        let content = String(decoding: frames[layout.content], as: UTF8.self)
        records.withLock { $0.append(Record(channel: channel, msgType: msgType, parentMsgID: parent, content: content)) }
    }

    func kernel(_ kernelID: String, didChangeState state: KernelLifecycle.ExecutionState, reason: String?) {
        states.withLock { $0.append(state) }
    }

    var all: [Record] { records.withLock { $0 } }
    var stateChanges: [KernelLifecycle.ExecutionState] { states.withLock { $0 } }

    /// Waits (bounded) until `predicate` holds for the records.
    func wait(seconds: Double = 20, _ predicate: ([Record]) -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if predicate(all) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return predicate(all)
    }

    func waitForState(_ state: KernelLifecycle.ExecutionState, seconds: Double = 30) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if stateChanges.contains(state) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}

/// Paths and a manager configured like the gateway's, for tests that launch real kernels.
enum TestKernels {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let buildDir = ProcessInfo.processInfo.environment["KG_BUILD_DIR"] ?? repo + "/.build/debug"

    static func manager(extraSpecDirs: [String] = [], runtime: String,
                        heartbeat: Duration = .seconds(5)) throws -> (KernelManager<Void>, EventLoopGroup) {
        let group = try EventLoopGroup(count: 2)
        let manager = KernelManager<Void>(group: group, configuration: configuration(extraSpecDirs: extraSpecDirs,
                                                                                          runtime: runtime,
                                                                                          heartbeat: heartbeat),
                                              logger: logger)
        return (manager, group)
    }

    static let logger = Logger(label: "test", handler: JSONLinesLogHandler(minimumLevel: .warning))

    static func configuration(extraSpecDirs: [String] = [], runtime: String, heartbeat: Duration = .seconds(5),
                              maxKernels: Int = 0) -> KernelManagerConfiguration {
        let env = [
            "PATH": buildDir + ":/usr/local/bin:/usr/bin:/bin",
            "HOME": NSHomeDirectory(), "LANG": "C.UTF-8",
            "JUPYTER_PATH": repo + "/.venv/share/jupyter",
            "JUPYTER_DATA_DIR": runtime + "/data",
            "KG_AUTH_TOKEN": "secret-should-not-leak",
        ]
        var lifecycle = KernelLifecycle.Configuration()
        lifecycle.startupTimeout = .seconds(30)
        lifecycle.restartDelay = .milliseconds(100)
        var config = KernelManagerConfiguration(
            catalog: .init(environment: env, extraDirectories: extraSpecDirs + [repo + "/kernelspecs"]),
            runtimeDirectory: runtime, gatewayEnvironment: env, lifecycle: lifecycle, maxKernels: maxKernels)
        config.heartbeatInterval = heartbeat
        return config
    }

    static func tempDir() -> String {
        let path = NSTemporaryDirectory() + "kg-kernel-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func request(_ msgType: String, content: String = "{}") -> (header: [UInt8], msgID: String) {
        let header = MessageHeader(msgType: msgType, username: "tester", session: "test-session")
        return (header.bytes, header.msgID)
    }

    static func processExists(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0
    }
}

/// Every test that launches real kernel processes runs under this suite, one at a time: they count child
/// processes and descriptors, which tests running in parallel would disturb.
@Suite(.serialized) struct RealKernelTests {}

extension RealKernelTests {
@Suite struct KernelProcessTests {
    func execute(_ kernel: Kernel, _ code: String, allowStdin: Bool = false) async -> String {
        let (header, id) = TestKernels.request("execute_request")
        let escaped = String(decoding: { var o: [UInt8] = []; JSONEscaper.appendQuoted(code, to: &o); return o }(), as: UTF8.self)
        let content = #"{"code":\#(escaped),"silent":false,"store_history":true,"user_expressions":{},"allow_stdin":\#(allowStdin),"stop_on_error":true}"#
        let result = await kernel.send(.shell, header: header, content: Array(content.utf8))
        #expect(result == .sent)
        return id
    }

    @Test(arguments: ["python3", "echo"])
    func startExecuteInterruptRestartAutoRestartShutdown(kernelName: String) async throws {
        let runtime = TestKernels.tempDir()
        let (manager, group) = try TestKernels.manager(runtime: runtime)
        defer { group.shutdown() }
        let kernel = try await manager.startKernel(name: kernelName, owner: "alice",
                                                   forcedEnvironment: ["KERNEL_USERNAME": "alice"]).kernel
        let sink = RecordingSink()
        await kernel.setSink(sink)
        #expect(FileManager.default.fileExists(atPath: kernel.connectionFile))
        let attributes = try FileManager.default.attributesOfItem(atPath: kernel.connectionFile)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        // Ready means kernel_info answered and iopub flowing; the kernel's own idle status follows shortly.
        var state = await kernel.executionState
        for _ in 0..<100 where state != .idle {
            try await Task.sleep(for: .milliseconds(20))
            state = await kernel.executionState
        }
        #expect(state == .idle)

        // kernel_info
        let (infoHeader, infoID) = TestKernels.request("kernel_info_request")
        #expect(await kernel.send(.shell, header: infoHeader, content: Array("{}".utf8)) == .sent)
        #expect(await sink.wait { $0.contains { $0.msgType == "kernel_info_reply" && $0.parentMsgID == infoID } })

        // execute with outputs on iopub
        let code = kernelName == "python3" ? "print(6*7)" : "hello"
        let execID = await execute(kernel, code)
        #expect(await sink.wait { $0.contains { $0.msgType == "execute_reply" && $0.parentMsgID == execID } })
        let outputs = sink.all.filter { $0.parentMsgID == execID && $0.channel == .iopub }.map(\.msgType)
        #expect(outputs.contains("stream"))
        #expect(outputs.contains("execute_input"))
        let expected = kernelName == "python3" ? "42" : "hello"
        #expect(sink.all.contains { $0.parentMsgID == execID && $0.msgType == "stream" && $0.content.contains(expected) })

        // stdin: input_request reaches us and our input_reply is used
        let inputCode = kernelName == "python3" ? "print('got', input('name?'))" : "%input name?"
        let inputID = await execute(kernel, inputCode, allowStdin: true)
        #expect(await sink.wait { $0.contains { $0.channel == .stdin && $0.msgType == "input_request" && $0.parentMsgID == inputID } })
        let (replyHeader, _) = TestKernels.request("input_reply")
        let parent = sink.all.first { $0.channel == .stdin && $0.parentMsgID == inputID }
        #expect(parent != nil)
        // input_reply's parent is the input_request; kernels accept any parent here.
        #expect(await kernel.send(.stdin, header: replyHeader, content: Array(#"{"value":"zed"}"#.utf8)) == .sent)
        #expect(await sink.wait { $0.contains { $0.msgType == "execute_reply" && $0.parentMsgID == inputID } })
        #expect(sink.all.contains { $0.parentMsgID == inputID && $0.msgType == "stream" && $0.content.contains("zed") })

        // interrupt a sleeping execution (signal mode)
        let sleepCode = kernelName == "python3" ? "import time; time.sleep(30)" : "%sleep 30"
        let sleepID = await execute(kernel, sleepCode)
        #expect(await sink.wait { $0.contains { $0.msgType == "execute_input" && $0.parentMsgID == sleepID } })
        try await Task.sleep(for: .milliseconds(300))
        try await kernel.interrupt()
        #expect(await sink.wait { $0.contains { $0.msgType == "execute_reply" && $0.parentMsgID == sleepID } })
        #expect(sink.all.contains { $0.msgType == "execute_reply" && $0.parentMsgID == sleepID && $0.content.contains("KeyboardInterrupt") })

        // restart keeps the id, changes the process
        let firstPID = try #require(await kernel.pid)
        try await kernel.restart()
        let secondPID = try #require(await kernel.pid)
        #expect(firstPID != secondPID)
        #expect(!TestKernels.processExists(firstPID))
        #expect(manager.entry(id: kernel.id) != nil)
        let (info2, info2ID) = TestKernels.request("kernel_info_request")
        #expect(await kernel.send(.shell, header: info2, content: Array("{}".utf8)) == .sent)
        #expect(await sink.wait { $0.contains { $0.msgType == "kernel_info_reply" && $0.parentMsgID == info2ID } })

        // kill -9 leads to an automatic restart that observers see
        kill(secondPID, SIGKILL)
        #expect(await sink.waitForState(.restarting))
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let state = await kernel.executionState
            let pid = await kernel.pid
            if state == .idle, let pid, pid != secondPID { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let thirdPID = try #require(await kernel.pid)
        #expect(thirdPID != secondPID)
        let (info3, info3ID) = TestKernels.request("kernel_info_request")
        #expect(await kernel.send(.shell, header: info3, content: Array("{}".utf8)) == .sent)
        #expect(await sink.wait { $0.contains { $0.msgType == "kernel_info_reply" && $0.parentMsgID == info3ID } })

        // shutdown leaves no process and no connection file
        let file = kernel.connectionFile
        try await manager.shutdownKernel(id: kernel.id)
        #expect(!TestKernels.processExists(thirdPID))
        #expect(!FileManager.default.fileExists(atPath: file))
        try await Task.sleep(for: .milliseconds(50))
        #expect(manager.count == 0)
        try? FileManager.default.removeItem(atPath: runtime)
    }
}
}
