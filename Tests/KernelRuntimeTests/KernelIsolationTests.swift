import JupyterProtocol
import Testing
@testable import KernelRuntime

@Suite struct KernelIsolationTests {
    let alice = UnixAccount(name: "jk-alice", uid: 1001, gid: 1001, groups: [1001, 100], home: "/home/jk-alice")

    @Test func usersFileAccountWinsOverPattern() throws {
        let isolation = KernelIsolation(mode: .unixUser, unixUserPattern: "jk-{username}")
        #expect(try isolation.accountName(forUser: "alice", configured: "research7") == "research7")
        #expect(try isolation.accountName(forUser: "alice", configured: nil) == "jk-alice")
    }

    @Test func noPatternAndNoFieldMeansNoAccount() throws {
        #expect(try KernelIsolation(mode: .unixUser).accountName(forUser: "alice", configured: nil) == nil)
    }

    @Test func patternProducingAnInvalidAccountNameIsRefused() {
        let isolation = KernelIsolation(mode: .unixUser, unixUserPattern: "{username}")
        #expect(throws: KernelRuntimeError.self) { try isolation.accountName(forUser: "bob@example.org", configured: nil) }
        #expect(throws: KernelRuntimeError.self) { try isolation.accountName(forUser: "-rf", configured: nil) }
    }

    @Test func rootAndOutOfRangeAccountsAreRefused() throws {
        let isolation = KernelIsolation(mode: .unixUser, allowedUIDs: 1000...1999)
        try isolation.validate(alice)
        var root = alice
        root.uid = 0
        #expect(throws: KernelRuntimeError.self) { try isolation.validate(root) }
        var system = alice
        system.uid = 33
        let error = #expect(throws: KernelRuntimeError.self) { try isolation.validate(system) }
        #expect(error?.message.contains("outside the allowed range 1000-1999") == true)
        var wheel = alice
        wheel.groups = [1001, 0]
        #expect(throws: KernelRuntimeError.self) { try isolation.validate(wheel) }
        var rootGroup = alice
        rootGroup.gid = 0
        #expect(throws: KernelRuntimeError.self) { try isolation.validate(rootGroup) }
    }

    @Test func homeUnderRootOrAccountHome() throws {
        let rooted = KernelIsolation(mode: .sandbox, homeRoot: "/srv/homes/")
        #expect(try rooted.homeDirectory(forUser: "alice", account: alice) == "/srv/homes/alice")
        #expect(throws: KernelRuntimeError.self) { try rooted.homeDirectory(forUser: "..", account: alice) }
        let own = KernelIsolation(mode: .unixUser)
        #expect(try own.homeDirectory(forUser: "alice", account: alice) == "/home/jk-alice")
        var homeless = alice
        homeless.home = "/"
        #expect(throws: KernelRuntimeError.self) { try own.homeDirectory(forUser: "alice", account: homeless) }
    }

    @Test func kernelDirectoryAndSocketPaths() {
        let isolation = KernelIsolation(mode: .unixUser, kernelDirectoryRoot: "/run/kg/kernels")
        #expect(isolation.kernelDirectory(for: "abc") == "/run/kg/kernels/abc")
        #expect(isolation.ipcPrefix(for: "abc") == "/run/kg/kernels/abc/kernel")
        // "/run/kg/kernels/" + 36-character id + "/kernel" + "-5"
        #expect(isolation.longestSocketPath == 16 + 36 + 7 + 2)
        let info = ConnectionInfo(kernelName: "k", ipcPrefix: isolation.ipcPrefix(for: "abc"))
        #expect(info.transport == .ipc)
        #expect(info.endpoint(for: .shell) == "ipc:///run/kg/kernels/abc/kernel-1")
        #expect(info.endpoint(for: .hb) == "ipc:///run/kg/kernels/abc/kernel-5")
        #expect(Set(Channel.allCases.map { info.endpoint(for: $0) }).count == 5)
    }

    @Test func lookupFindsRootAndRejectsUnknownAccounts() throws {
        let root = try UnixAccount.lookup(name: "root")
        #expect(root.uid == 0 && root.home.hasPrefix("/"))
        #expect(throws: KernelRuntimeError.self) { try UnixAccount.lookup(name: "no-such-account-kg-test") }
    }
}
