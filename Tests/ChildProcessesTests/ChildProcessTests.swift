import Glibc
import Testing
import EventLoop
@testable import ChildProcesses

actor ProcessOwner {
    let loop: EventLoop
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
    var process: ChildProcess?
    init(loop: EventLoop) { self.loop = loop }

    func run(
        _ path: String, _ args: [String], signal: Int32? = nil, identity: ProcessIdentity? = nil,
        standardOutput: Int32 = -1
    ) async throws -> ProcessExitStatus {
        try await withCheckedThrowingContinuation { done in
            do {
                process = try ChildProcess(
                    path: path, arguments: args, environment: ["PATH=/usr/bin:/bin"], loop: loop,
                    standardOutput: standardOutput, identity: identity
                ) {
                    done.resume(returning: $0)
                }
                if let signal { process?.signalGroup(signal) }
            } catch {
                done.resume(throwing: error)
            }
        }
    }

    /// Runs to completion with standard output captured through a pipe.
    func capture(_ path: String, _ args: [String], identity: ProcessIdentity?) async throws -> (ProcessExitStatus, String) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw SystemError("pipe") }
        defer { close(fds[0]) }
        // Only the child's dup2 onto stdout should hold the write end, not children started meanwhile.
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let status: ProcessExitStatus
        do {
            // The outputs here are far below the pipe's capacity, so reading after exit cannot deadlock.
            status = try await run(path, args, identity: identity, standardOutput: fds[1])
        } catch {
            close(fds[1])
            throw error
        }
        close(fds[1])
        return (status, readAll(fds[0]))
    }
}

/// Reads `fd` until EOF.
private func readAll(_ fd: Int32) -> String {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

private func readFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    return readAll(fd)
}

/// The value of `key` in a /proc status file ("NoNewPrivs:\t1" -> "1"), tabs and spaces trimmed.
private func statusField(_ status: String, _ key: String) -> String? {
    for line in status.split(separator: "\n") where line.hasPrefix("\(key):") {
        return line.dropFirst(key.count + 1).split(whereSeparator: { $0 == "\t" || $0 == " " }).joined(separator: " ")
    }
    return nil
}

/// Pids of this process's children (zombies included) whose real uid is `uid`.
private func children(withUID uid: uid_t) -> [pid_t] {
    guard let dir = opendir("/proc") else { return [] }
    defer { closedir(dir) }
    var found: [pid_t] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard let pid = pid_t(name), let status = readFile("/proc/\(name)/status") else { continue }
        let ppid = statusField(status, "PPid")
        let realUID = statusField(status, "Uid")?.split(separator: " ").first
        if ppid == "\(getpid())", realUID.map(String.init) == "\(uid)" { found.append(pid) }
    }
    return found
}

/// A fresh directory under /tmp (mode 0700, owned by the caller); removed by the caller.
private func makeTemporaryDirectory() throws -> String {
    var template = Array("/tmp/kg-spawn-XXXXXX".utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ $0.baseAddress.flatMap { mkdtemp($0) } }) else {
        throw SystemError("mkdtemp")
    }
    return String(cString: made)
}

private let isRoot = getuid() == 0
/// Whether this process already has no_new_privs (then every child inherits it and "off" cannot be observed).
private let parentHasNoNewPrivs = readFile("/proc/self/status").flatMap { statusField($0, "NoNewPrivs") } == "1"
private let nobody: uid_t = 65534
private let nogroup: gid_t = 65534

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

    @Test func withoutIdentityTheChildKeepsOurCredentials() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let owner = ProcessOwner(loop: loop)
        let (status, output) = try await owner.capture("/bin/cat", ["cat", "/proc/self/status"], identity: nil)
        #expect(status == .exited(0))
        #expect(statusField(output, "Uid") == "\(getuid()) \(geteuid()) \(geteuid()) \(geteuid())")
        #expect(statusField(output, "NoNewPrivs") == (parentHasNoNewPrivs ? "1" : "0"))
        #expect(statusField(output, "SigBlk") == "0000000000000000")
    }
}

/// Starting children as another account. Serialized, and each failure test uses its own uid, so the
/// "no child left behind" scans cannot see another test's child.
@Suite(.serialized) struct ChildProcessIdentityTests {
    let loop: EventLoop
    let owner: ProcessOwner

    init() throws {
        loop = try EventLoop()
        owner = ProcessOwner(loop: loop)
    }

    private func run(_ arguments: [String], as identity: ProcessIdentity) async throws -> String {
        let (status, output) = try await owner.capture(arguments[0], arguments, identity: identity)
        #expect(status == .exited(0), "\(arguments)")
        return output
    }

    /// Starts a child expected to fail, checks nothing of it is left, and returns the error.
    private func startFailure(_ path: String, as identity: ProcessIdentity) async -> SystemError? {
        let error = await #expect(throws: SystemError.self) {
            _ = try await owner.run(path, [path], identity: identity)
        }
        #expect(children(withUID: identity.uid).isEmpty, "a child of uid \(identity.uid) is still there")
        return error
    }

    @Test(.enabled(if: isRoot)) func idReportsTheRequestedAccount() async throws {
        defer { loop.shutdown() }
        let identity = ProcessIdentity(uid: nobody, gid: nogroup, supplementaryGroups: [nogroup, 100])
        #expect(try await run(["/usr/bin/id", "-u"], as: identity) == "65534\n")
        #expect(try await run(["/usr/bin/id", "-g"], as: identity) == "65534\n")
        #expect(try await run(["/usr/bin/id", "-G"], as: identity) == "65534 100\n")
    }

    @Test(.enabled(if: isRoot)) func savedIDsAndGroupsAreReplacedAndSignalsAreClean() async throws {
        defer { loop.shutdown() }
        let identity = ProcessIdentity(uid: nobody, gid: nogroup, supplementaryGroups: [100])
        let status = try await run(["/bin/cat", "/proc/self/status"], as: identity)
        // Real, effective, saved and filesystem ids: no way back to root through the saved id.
        #expect(statusField(status, "Uid") == "65534 65534 65534 65534")
        #expect(statusField(status, "Gid") == "65534 65534 65534 65534")
        #expect(statusField(status, "Groups") == "100")
        #expect(statusField(status, "CapEff") == "0000000000000000")
        #expect(statusField(status, "SigBlk") == "0000000000000000")
        // SIGHUP(1) SIGINT(2) SIGPIPE(13) SIGTERM(15) SIGCHLD(17) are back to default, so not ignored.
        let ignored = statusField(status, "SigIgn").flatMap { UInt64($0, radix: 16) }
        let resetMask: UInt64 = [SIGHUP, SIGINT, SIGPIPE, SIGTERM, SIGCHLD].reduce(0) { $0 | 1 << UInt64($1 - 1) }
        #expect(ignored.map { $0 & resetMask } == 0)
    }

    @Test(.enabled(if: isRoot)) func ignoredSignalsStayIgnoredAcrossExec() async throws {
        defer { loop.shutdown() }
        let identity = ProcessIdentity(uid: nobody, gid: nogroup, ignoredSignals: [SIGINT, SIGTERM])
        let status = try await run(["/bin/cat", "/proc/self/status"], as: identity)
        let ignored = statusField(status, "SigIgn").flatMap { UInt64($0, radix: 16) } ?? 0
        #expect(ignored & (1 << UInt64(SIGINT - 1)) != 0)
        #expect(ignored & (1 << UInt64(SIGTERM - 1)) != 0)
        #expect(ignored & (1 << UInt64(SIGHUP - 1)) == 0)
    }

    @Test(.enabled(if: isRoot)) func newNetworkNamespaceHasOnlyAnUpLoopback() async throws {
        defer { loop.shutdown() }
        let identity = ProcessIdentity(uid: nobody, gid: nogroup, newNetworkNamespace: true)
        let interfaces = try await run(["/bin/cat", "/proc/net/dev"], as: identity)
            .split(separator: "\n").dropFirst(2).compactMap { $0.split(separator: ":").first.map { String($0.filter { $0 != " " }) } }
        #expect(interfaces == ["lo"])
        let flags = try await run(["/bin/cat", "/sys/class/net/lo/operstate", "/sys/class/net/lo/flags"], as: identity)
        // IFF_UP is bit 0 of the flags word.
        let word = flags.split(separator: "\n").last.flatMap { UInt32($0.dropFirst(2), radix: 16) } ?? 0
        #expect(word & 1 == 1)
        let host = try await run(["/bin/cat", "/proc/net/dev"], as: ProcessIdentity(uid: nobody, gid: nogroup))
        #expect(host.split(separator: "\n").count > 3, "the host has interfaces besides lo")
    }

    @Test func ownAccountNeedsNoPrivilegeToKeep() async throws {
        defer { loop.shutdown() }
        // What a non-root gateway asks for in sandbox mode: its own ids. No setgroups (which needs CAP_SETGID).
        let identity = ProcessIdentity(uid: geteuid(), gid: getegid(), supplementaryGroups: [getegid()], umask: 0o077)
        let output = try await run(["/bin/sh", "-c", "id -u; umask"], as: identity)
        #expect(output == "\(geteuid())\n0077\n")
    }

    @Test(.enabled(if: isRoot)) func noNewPrivilegesIsSetWhenAsked() async throws {
        defer { loop.shutdown() }
        let identity = ProcessIdentity(uid: nobody, gid: nogroup, noNewPrivileges: true)
        let status = try await run(["/bin/cat", "/proc/self/status"], as: identity)
        #expect(status.contains("NoNewPrivs:\t1\n"))
    }

    @Test(.enabled(if: isRoot && !parentHasNoNewPrivs)) func noNewPrivilegesIsOffWhenNotAsked() async throws {
        defer { loop.shutdown() }
        let identity = ProcessIdentity(uid: nobody, gid: nogroup, noNewPrivileges: false)
        let status = try await run(["/bin/cat", "/proc/self/status"], as: identity)
        #expect(status.contains("NoNewPrivs:\t0\n"))
    }

    @Test(.enabled(if: isRoot)) func umaskIsApplied() async throws {
        defer { loop.shutdown() }
        let identity = ProcessIdentity(uid: nobody, gid: nogroup, umask: 0o077)
        #expect(try await run(["/bin/sh", "-c", "umask"], as: identity) == "0077\n")
    }

    @Test(.enabled(if: isRoot)) func workingDirectoryIsEntered() async throws {
        defer { loop.shutdown() }
        let directory = try makeTemporaryDirectory()
        defer { rmdir(directory) }
        // 0700 and owned by the account: only the account itself (and root) may enter.
        #expect(chown(directory, nobody, nogroup) == 0)
        let identity = ProcessIdentity(uid: nobody, gid: nogroup, workingDirectory: directory)
        #expect(try await run(["/bin/pwd"], as: identity) == "\(directory)\n")
    }

    @Test(.enabled(if: isRoot)) func childIsInItsOwnGroupWithOnlyStandardDescriptors() async throws {
        defer { loop.shutdown() }
        // Opened without close-on-exec: only the start-up closing keeps it out of the child.
        let leak = open("/dev/null", O_RDONLY)
        #expect(leak > 2)
        defer { close(leak) }
        let identity = ProcessIdentity(uid: nobody, gid: nogroup)
        // ls's own directory handle is the 3.
        #expect(try await run(["/bin/ls", "/proc/self/fd"], as: identity) == "0\n1\n2\n3\n")
        // /proc/self/stat: "pid (comm) state ppid pgrp ..."
        let stat = try await run(["/bin/cat", "/proc/self/stat"], as: identity)
        let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
        let pid = stat.split(separator: " ").first.map(String.init)
        #expect(fields.count > 3)
        #expect(fields.count > 3 && String(fields[1]) == "\(getpid())")
        #expect(fields.count > 3 && String(fields[2]) == pid)
    }

    @Test(.enabled(if: isRoot)) func exitStatusIsReportedForAnotherAccount() async throws {
        defer { loop.shutdown() }
        let identity = ProcessIdentity(uid: nobody, gid: nogroup)
        #expect(try await owner.run("/bin/sh", ["sh", "-c", "exit 7"], identity: identity) == .exited(7))
        let killed = try await owner.run("/bin/sh", ["sh", "-c", "sleep 30"], signal: SIGTERM, identity: identity)
        #expect(killed == .signaled(SIGTERM))
    }

    @Test(.enabled(if: isRoot)) func missingWorkingDirectoryThrowsAndLeavesNoChild() async throws {
        defer { loop.shutdown() }
        let identity = ProcessIdentity(uid: 61001, gid: 61001, workingDirectory: "/nonexistent/kg-spawn-home")
        let error = await startFailure("/bin/true", as: identity)
        #expect(error?.code == ENOENT)
        #expect(error?.operation == "spawn /bin/true as uid 61001 gid 61001: chdir /nonexistent/kg-spawn-home")
        #expect(error?.description.contains("chdir /nonexistent/kg-spawn-home failed: No such file or directory") == true)
    }

    @Test(.enabled(if: isRoot)) func directoryTheAccountCannotEnterThrows() async throws {
        defer { loop.shutdown() }
        let directory = try makeTemporaryDirectory()  // root-owned 0700
        defer { rmdir(directory) }
        let identity = ProcessIdentity(uid: 61002, gid: 61002, workingDirectory: directory)
        let error = await startFailure("/bin/true", as: identity)
        #expect(error?.code == EACCES)
        #expect(error?.description.contains("chdir \(directory) failed: Permission denied") == true)
    }

    @Test(.enabled(if: isRoot)) func missingExecutableThrowsAtExecve() async throws {
        defer { loop.shutdown() }
        let identity = ProcessIdentity(uid: 61003, gid: 61003)
        let error = await startFailure("/nonexistent/kernel", as: identity)
        #expect(error?.code == ENOENT)
        #expect(error?.operation == "spawn /nonexistent/kernel as uid 61003 gid 61003: execve /nonexistent/kernel")
    }

    @Test(.enabled(if: isRoot)) func tooManyGroupsThrowsAtSetgroups() async throws {
        defer { loop.shutdown() }
        // NGROUPS_MAX is 65536.
        let identity = ProcessIdentity(uid: 61004, gid: 61004, supplementaryGroups: Array(1...65537))
        let error = await startFailure("/bin/true", as: identity)
        #expect(error?.code == EINVAL)
        #expect(error?.operation == "spawn /bin/true as uid 61004 gid 61004: setgroups(65537 groups)")
    }

    @Test(.enabled(if: !isRoot)) func withoutPrivilegeTheSwitchFailsAtSetgroups() async throws {
        defer { loop.shutdown() }
        let identity = ProcessIdentity(uid: nobody, gid: nogroup, supplementaryGroups: [nogroup])
        let error = await startFailure("/bin/true", as: identity)
        #expect(error?.code == EPERM)
        #expect(error?.description.contains("setgroups([65534]) failed: Operation not permitted") == true)
    }

    @Test func workingDirectoryWithNULIsRejectedBeforeStarting() async throws {
        defer { loop.shutdown() }
        let identity = ProcessIdentity(uid: 61005, gid: 61005, workingDirectory: "/tmp\0/etc")
        let error = await startFailure("/bin/true", as: identity)
        #expect(error?.code == EINVAL)
        #expect(error?.operation.contains("NUL") == true)
    }
}
