import Glibc
import Testing
@testable import KernelRuntime

@Suite struct SandboxCommandTests {
    /// A Debian 12 host with merged /usr, a venv under /srv/venv and gateway files under /etc/kg and /opt/kg.
    static let host: [String: SandboxCommand.HostPath] = [
        "/usr": .directory, "/bin": .symlink(target: "usr/bin"), "/sbin": .symlink(target: "usr/sbin"),
        "/lib": .symlink(target: "usr/lib"), "/lib64": .symlink(target: "usr/lib64"), "/etc": .directory,
        "/opt": .directory, "/srv/venv": .directory, "/srv/specs/python3": .directory,
        "/etc/kg/users.json": .file, "/opt/kg": .directory, "/srv/data": .directory,
    ]

    func command(network: KernelIsolation.Network = .none, readOnly: [String] = [], executable: String = "/srv/venv/bin/python")
        -> [String]
    {
        let isolation = KernelIsolation(
            mode: .sandbox, homeRoot: "/var/lib/kg/homes", kernelDirectoryRoot: "/run/kg/kernels", network: network,
            sandboxReadOnlyPaths: readOnly, bubblewrapPath: "/usr/bin/bwrap",
            privatePaths: ["/etc/kg/users.json", "/opt/kg", "/root/runtime"])
        return SandboxCommand(
            isolation: isolation, executable: executable, arguments: ["python", "-m", "ipykernel_launcher", "-f", "/run/kg/kernels/k1/connection.json"],
            resourceDirectory: "/srv/specs/python3", home: "/var/lib/kg/homes/alice", kernelDirectory: "/run/kg/kernels/k1",
            hostPath: { Self.host[$0] }
        ).arguments
    }

    /// The (option, operand...) groups of a bwrap command line, for order-independent checks.
    func pairs(_ argv: [String], _ option: String) -> [String] {
        argv.indices.filter { argv[$0] == option }.map { argv[$0 + 1] }
    }

    @Test func namespacesAndNoNetworkByDefault() {
        let argv = command()
        #expect(argv.first == "/usr/bin/bwrap")
        for flag in ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net"] { #expect(argv.contains(flag)) }
        #expect(!command(network: .host).contains("--unshare-net"))
    }

    @Test func systemReadOnlyMergedUsrAsSymlinksPrivateTmpAndProc() {
        let argv = command()
        #expect(pairs(argv, "--ro-bind").contains("/usr"))
        #expect(pairs(argv, "--ro-bind").contains("/etc"))
        #expect(pairs(argv, "--symlink") == ["usr/bin", "usr/sbin", "usr/lib", "usr/lib64"])
        #expect(pairs(argv, "--tmpfs").contains("/tmp"))
        #expect(pairs(argv, "--proc") == ["/proc"])
        #expect(!pairs(argv, "--ro-bind").contains("/"))
    }

    @Test func kernelInstallAndSpecAreReadOnlyHomeAndKernelDirReadWrite() {
        let argv = command(readOnly: ["/srv/data/", "/missing"])
        let readOnly = pairs(argv, "--ro-bind")
        #expect(readOnly.contains("/srv/venv"))
        #expect(readOnly.contains("/srv/specs/python3"))
        #expect(readOnly.contains("/srv/data"))
        #expect(!readOnly.contains("/missing"))
        #expect(pairs(argv, "--bind") == ["/var/lib/kg/homes/alice", "/run/kg/kernels/k1"])
        #expect(pairs(argv, "--chdir") == ["/var/lib/kg/homes/alice"])
    }

    @Test func gatewayFilesUnderBoundPathsAreMaskedBeforeTheWritableBinds() {
        let argv = command()
        // /etc is bound, so the users file inside it is replaced by /dev/null; /opt/kg becomes an empty tmpfs.
        let usersMask = argv.indices.first { argv[$0] == "/dev/null" && argv[$0 + 1] == "/etc/kg/users.json" }
        #expect(usersMask != nil && argv[usersMask! - 1] == "--ro-bind")
        #expect(pairs(argv, "--tmpfs").contains("/opt/kg"))
        // Not under anything bound: nothing to hide.
        #expect(!argv.contains("/root/runtime"))
        let lastMask = argv.lastIndex(of: "/opt/kg")!
        let firstWritable = argv.firstIndex(of: "--bind")!
        #expect(lastMask < firstWritable)
    }

    @Test func commandRestoresSignalsThenRunsTheResolvedExecutable() {
        let argv = command()
        let separator = argv.firstIndex(of: "--")!
        #expect(Array(argv[(separator + 1)...]) == [
            "/usr/bin/env", "--default-signal=INT,TERM", "--", "/srv/venv/bin/python", "-m", "ipykernel_launcher", "-f",
            "/run/kg/kernels/k1/connection.json",
        ])
    }

    @Test func installPrefix() {
        #expect(SandboxCommand.installPrefix(of: "/srv/venv/bin/python") == "/srv/venv")
        #expect(SandboxCommand.installPrefix(of: "/work/.build/debug/echo-kernel") == "/work/.build/debug")
        #expect(SandboxCommand.installPrefix(of: "/bin/sh") == "/")
        #expect(SandboxCommand.installPrefix(of: "/usr/bin/python3") == "/usr")
    }

    @Test func launchPlanUnderEachMode() throws {
        let account = UnixAccount(name: "jk-alice", uid: 1001, gid: 1001, groups: [1001, 27], home: "/home/jk-alice")
        let plan = LaunchPlan(executablePath: "/srv/venv/bin/python", arguments: ["python", "-f", "c.json"],
                              environment: ["HOME": "/root", "PATH": "/usr/bin", "KERNEL_USERNAME": "alice"])
        let base = KernelIsolation(mode: .none)
        #expect(plan.isolated(base, account: account, home: "/h", kernelDirectory: "/k", resourceDirectory: "/s",
                              hostPath: { Self.host[$0] }) == plan)
        let user = plan.isolated(KernelIsolation(mode: .unixUser), account: account, home: "/home/jk-alice",
                                 kernelDirectory: "/k", resourceDirectory: "/s", hostPath: { Self.host[$0] })
        #expect(user.executablePath == "/srv/venv/bin/python")
        #expect(user.environment["HOME"] == "/home/jk-alice" && user.environment["USER"] == "jk-alice")
        #expect(user.environment["KERNEL_USERNAME"] == "alice")
        #expect(user.identity?.uid == 1001 && user.identity?.gid == 1001 && user.identity?.supplementaryGroups == [1001, 27])
        #expect(user.identity?.umask == 0o077 && user.identity?.noNewPrivileges == true)
        #expect(user.identity?.workingDirectory == "/home/jk-alice")
        #expect(user.identity?.ignoredSignals == [])
        #expect(user.identity?.newNetworkNamespace == true)
        let networked = plan.isolated(KernelIsolation(mode: .unixUser, network: .host), account: account, home: "/h",
                                      kernelDirectory: "/k", resourceDirectory: "/s", hostPath: { Self.host[$0] })
        #expect(networked.identity?.newNetworkNamespace == false)
        let sandboxed = plan.isolated(KernelIsolation(mode: .sandbox, bubblewrapPath: "/usr/bin/bwrap"), account: account,
                                      home: "/h", kernelDirectory: "/k", resourceDirectory: "/s", hostPath: { Self.host[$0] })
        #expect(sandboxed.executablePath == "/usr/bin/bwrap")
        #expect(sandboxed.arguments.last == "c.json")
        #expect(sandboxed.identity?.uid == 1001)
        #expect(sandboxed.identity?.ignoredSignals.isEmpty == false)
        #expect(sandboxed.identity?.newNetworkNamespace == false, "bubblewrap unshares the network itself")
    }
}

@Suite struct SandboxHostPathTests {
    @Test(.enabled(if: geteuid() == 0, "needs root to create a directory another account cannot enter"))
    func pathsTheAccountCannotReachAreLeftOut() throws {
        let temp = try TemporaryDirectory()  // mkdtemp: 0700, owned by root
        try temp.write("specs/echo/kernel.json", "{}")
        let nobody = UnixAccount(name: "nobody", uid: 65534, gid: 65534, groups: [65534], home: "/nonexistent")
        #expect(SandboxCommand.inspect(temp.url("specs/echo"), reachableBy: nobody) == nil)
        #expect(SandboxCommand.inspect("/usr/bin", reachableBy: nobody) == .directory)
        #expect(chmod(temp.path, 0o711) == 0)
        #expect(SandboxCommand.inspect(temp.url("specs/echo"), reachableBy: nobody) == .directory)
        // Group bits count for the account's groups; owner bits alone for the owner.
        #expect(chmod(temp.path, 0o710) == 0)
        #expect(chown(temp.path, 0, 65534) == 0)
        #expect(SandboxCommand.inspect(temp.url("specs/echo"), reachableBy: nobody) == .directory)
        #expect(chown(temp.path, 65534, 0) == 0)
        #expect(chmod(temp.path, 0o071) == 0)
        #expect(SandboxCommand.inspect(temp.url("specs/echo"), reachableBy: nobody) == nil)
        #expect(chown(temp.path, 0, 0) == 0)
        #expect(chmod(temp.path, 0o700) == 0)
        let root = UnixAccount(name: "root", uid: 0, gid: 0, groups: [0], home: "/root")
        #expect(SandboxCommand.inspect(temp.url("specs/echo"), reachableBy: root) == .directory)
    }
}
