import Foundation
import JupyterProtocol
import Testing
@testable import KernelRuntime

/// A deterministic generator for key tests.
private struct CountingGenerator: RandomNumberGenerator {
    var value: UInt64 = 0x0123_4567_89ab_cdef
    mutating func next() -> UInt64 {
        defer { value = value &+ 1 }
        return value
    }
}

@Suite struct ConnectionInfoTests {
    @Test func decodesJupyterClientsConnectionFile() throws {
        let info = try ConnectionInfo.decode(Array(JupyterFixtures.connectionFile.utf8), context: "fixture")
        #expect(info.shellPort == 50001)
        #expect(info.iopubPort == 50002)
        #expect(info.stdinPort == 50003)
        #expect(info.controlPort == 50004)
        #expect(info.hbPort == 50005)
        #expect(info.ip == "127.0.0.1")
        #expect(info.transport == .tcp)
        #expect(info.signatureScheme == "hmac-sha256")
        #expect(info.kernelName == "python3")
        #expect(info.key.count == 64)
    }

    @Test func encodesTheSameObjectAsJupyterClient() throws {
        let reference = try ConnectionInfo.decode(Array(JupyterFixtures.connectionFile.utf8), context: "fixture")
        let ours = try JSONSerialization.jsonObject(with: Data(reference.encodedJSON())) as? NSDictionary
        let theirs = try JSONSerialization.jsonObject(with: Data(JupyterFixtures.connectionFile.utf8)) as? NSDictionary
        #expect(ours != nil)
        #expect(ours == theirs)
    }

    @Test func keyIs64LowercaseHexCharacters() {
        var generator = CountingGenerator()
        let key = ConnectionInfo.generateKey(using: &generator)
        #expect(key == "0123456789abcdef0123456789abcdf00123456789abcdf10123456789abcdf2")
        var system = SystemRandomNumberGenerator()
        let a = ConnectionInfo.generateKey(using: &system)
        let b = ConnectionInfo.generateKey(using: &system)
        #expect(a.count == 64 && b.count == 64)
        #expect(a.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(a != b)
    }

    @Test func freshInfoGetsPortsInChannelOrderAndAFreshKey() {
        let one = ConnectionInfo(kernelName: "k", ports: [1, 2, 3, 4, 5])
        let two = ConnectionInfo(kernelName: "k", ports: [1, 2, 3, 4, 5])
        let ports: [Int] = [one.shellPort, one.iopubPort, one.stdinPort, one.controlPort, one.hbPort]
        #expect(ports == [1, 2, 3, 4, 5])
        #expect(one.ip == "127.0.0.1" && one.transport == .tcp && one.signatureScheme == "hmac-sha256")
        #expect(one.key != two.key)
    }

    @Test func endpoints() {
        var info = ConnectionInfo(kernelName: "k", ports: [10, 11, 12, 13, 14])
        #expect(Channel.allCases.map { info.endpoint(for: $0) } == [
            "tcp://127.0.0.1:10", "tcp://127.0.0.1:11", "tcp://127.0.0.1:12", "tcp://127.0.0.1:13", "tcp://127.0.0.1:14",
        ])
        info.ip = "::1"
        #expect(info.endpoint(for: .control) == "tcp://[::1]:13")
        info.transport = .ipc
        info.ip = "/tmp/kernel-1"
        #expect(info.endpoint(for: .hb) == "ipc:///tmp/kernel-1-14")
    }
}

@Suite struct LoopbackPortAllocatorTests {
    @Test func allocatesDistinctBindablePorts() throws {
        let allocator = LoopbackPortAllocator()
        let ports = try allocator.allocate()
        #expect(ports.count == 5)
        #expect(Set(ports).count == 5)
        #expect(ports.allSatisfy { $0 > 0 && $0 < 65536 })
        #expect(allocator.reservedPorts == Set(ports))
        // The ports were released by the allocator: a kernel can bind them.
        for port in ports { #expect(canBind(port), "port \(port)") }
    }

    @Test func reservedPortsAreNotHandedOutTwice() throws {
        let allocator = LoopbackPortAllocator()
        var seen: Set<Int> = []
        for _ in 0..<20 {
            let ports = try allocator.allocate()
            #expect(seen.isDisjoint(with: ports))
            seen.formUnion(ports)
        }
        allocator.release(Array(seen))
        #expect(allocator.reservedPorts.isEmpty)
    }

    private func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

@Suite struct ConnectionFileStoreTests {
    @Test func writesMode0600InA0700DirectoryAndRoundTrips() throws {
        let dir = try TemporaryDirectory()
        let store = ConnectionFileStore(directory: dir.url("a/runtime"))
        let info = ConnectionInfo(kernelName: "python3", ports: [40001, 40002, 40003, 40004, 40005])
        let path = try store.write(info, kernelID: "0f6a4c4e-1d2b-4b8e-9a55-3c2d1e0f9a8b")
        #expect(path == dir.url("a/runtime/kernel-0f6a4c4e-1d2b-4b8e-9a55-3c2d1e0f9a8b.json"))
        #expect(FileSystem.permissions(of: path) == 0o600)
        #expect(FileSystem.permissions(of: dir.url("a/runtime")) == 0o700)
        #expect(try store.read(kernelID: "0f6a4c4e-1d2b-4b8e-9a55-3c2d1e0f9a8b") == info)
        #expect(store.remove(kernelID: "0f6a4c4e-1d2b-4b8e-9a55-3c2d1e0f9a8b"))
        #expect(FileSystem.kind(of: path, followSymlinks: false) == nil)
        #expect(!store.remove(kernelID: "0f6a4c4e-1d2b-4b8e-9a55-3c2d1e0f9a8b"))
    }

    @Test func modeIsExactEvenWithAPermissiveUmask() throws {
        let dir = try TemporaryDirectory()
        let old = umask(0)
        defer { umask(old) }
        let path = try ConnectionFileStore(directory: dir.path).write(ConnectionInfo(kernelName: "k", ports: [1, 2, 3, 4, 5]), kernelID: "u")
        #expect(FileSystem.permissions(of: path) == 0o600)
    }

    @Test func neverOverwritesAnExistingFileOrSymlink() throws {
        let dir = try TemporaryDirectory()
        let store = ConnectionFileStore(directory: dir.path)
        let info = ConnectionInfo(kernelName: "k", ports: [1, 2, 3, 4, 5])
        try store.write(info, kernelID: "one")
        #expect {
            try store.write(info, kernelID: "one")
        } throws: { ($0 as? KernelRuntimeError)?.code == .connectionFile }
        try dir.write("target.txt", "keep")
        try dir.symlink("kernel-two.json", to: dir.url("target.txt"))
        #expect(throws: KernelRuntimeError.self) { try store.write(info, kernelID: "two") }
        #expect(try String(contentsOfFile: dir.url("target.txt"), encoding: .utf8) == "keep")
    }

    @Test(arguments: ["", "../x", "a/b", "a.b", "a b", String(repeating: "a", count: 129)])
    func rejectsUnsafeKernelIDs(id: String) throws {
        let store = ConnectionFileStore(directory: "/nonexistent")
        #expect {
            try store.path(for: id)
        } throws: { ($0 as? KernelRuntimeError)?.code == .connectionFile }
        #expect(!store.remove(kernelID: id))
    }

    /// The checkout's venv (scripts/setup.sh), found from this file's path: Tests/KernelRuntimeTests/ is two
    /// levels below the checkout.
    static let python = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".venv/bin/python").path

    /// jupyter_client finds and loads our file the way a kernel launcher would.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: python)))
    func jupyterClientReadsOurFile() throws {
        let dir = try TemporaryDirectory()
        let store = ConnectionFileStore(directory: dir.url("runtime"))
        let info = ConnectionInfo(kernelName: "python3", ports: [41001, 41002, 41003, 41004, 41005])
        try store.write(info, kernelID: "abc-123")
        let script = """
            import json, sys
            from jupyter_client.connect import find_connection_file
            from jupyter_client import KernelManager
            path = find_connection_file("kernel-abc-123.json", path=[sys.argv[1]])
            km = KernelManager()
            km.load_connection_file(path)
            with open(path) as f:
                raw = json.load(f)
            print(json.dumps({"path": path, "key": km.session.key.decode(), "shell": km.shell_port,
                              "hb": km.hb_port, "scheme": km.session.signature_scheme, "raw": raw}))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = ["-c", script, dir.url("runtime")]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let result = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
        #expect(result["path"] as? String == dir.url("runtime/kernel-abc-123.json"))
        #expect(result["key"] as? String == info.key)
        #expect(result["shell"] as? Int == 41001)
        #expect(result["hb"] as? Int == 41005)
        #expect(result["scheme"] as? String == "hmac-sha256")
        let raw = try #require(result["raw"] as? [String: Any])
        #expect(Set(raw.keys) == [
            "shell_port", "iopub_port", "stdin_port", "control_port", "hb_port", "ip", "key", "transport",
            "signature_scheme", "kernel_name",
        ])
    }
}
