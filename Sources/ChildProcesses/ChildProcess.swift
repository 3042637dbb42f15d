import CLinuxShim
import EventLoop
import Glibc

/// How a child process ended.
public enum ProcessExitStatus: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var description: String {
        switch self {
        case .exited(let code): "exited with code \(code)"
        case .signaled(let signal): "killed by signal \(signal)"
        }
    }
}

/// A child process started in its own process group (so signals can go to the group, as Jupyter does), with a
/// pidfd watched by an `EventLoop` to learn of its exit without polling threads. Started with `posix_spawn`, or
/// with fork and exec when it must run as another account (`ProcessIdentity`).
///
/// Not Sendable: it belongs to the loop (and actor) that spawned it. The process is reaped by the exit watcher;
/// until then the pid cannot be reused, so signalling it is safe.
public final class ChildProcess {
    public let pid: pid_t
    private let reaper: Reaper

    /// Spawns `path` with `arguments` (argv, including argv[0]) and `environment` (`NAME=value` strings).
    /// Standard input is /dev/null; standard output and error are inherited unless descriptors are given (the
    /// caller keeps ownership of them). With an `identity`, the child runs as that account (see
    /// `ProcessIdentity`); without one it keeps the gateway's credentials. With `cgroupProcs` (`cgroup.procs` files
    /// of cgroups that exist), the child moves itself into those cgroups before anything else, so the program
    /// and everything it starts run inside them from the first instruction.
    /// Returns once the child has reached exec; blocks the loop thread until then.
    /// `onExit` runs on `loop`'s thread once, after the process has been reaped. Call on `loop`'s thread.
    /// - Throws: `SystemError` when the start fails. Without an identity it names the path (e.g. ENOENT, EACCES);
    ///   with one it also names the ids and the failed step, e.g. "spawn /bin/k as uid 1001 gid 1001: chdir /home/x
    ///   failed: No such file or directory"; a failed cgroup join names the files. A child that failed to start has
    ///   already been reaped.
    public init(
        path: String, arguments: [String], environment: [String], loop: EventLoop,
        standardOutput: Int32 = -1, standardError: Int32 = -1, identity: ProcessIdentity? = nil,
        cgroupProcs: [String] = [], onExit: @escaping @Sendable (ProcessExitStatus) -> Void
    ) throws {
        loop.preconditionInEventLoop()
        try identity?.validate()
        if let bad = cgroupProcs.first(where: { $0.utf8.contains(0) }) {
            throw SystemError("cgroup file \(bad.debugDescription) contains a NUL byte", code: EINVAL)
        }
        var child: pid_t = 0
        var step = KG_SPAWN_STEP_NONE
        let rc = withCStrings(arguments) { argv in
            withCStrings(environment) { envp in
                withCStrings(cgroupProcs) { procs in
                    // NULL instead of an empty list: the posix_spawn path stays available.
                    let cgroups = cgroupProcs.isEmpty
                        ? nil : UnsafeRawPointer(procs).assumingMemoryBound(to: UnsafePointer<CChar>?.self)
                    guard let identity else {
                        return kg_spawn(path, argv, envp, standardOutput, standardError, nil, cgroups, &child, &step)
                    }
                    return identity.withCIdentity { cIdentity in
                        kg_spawn(path, argv, envp, standardOutput, standardError, cIdentity, cgroups, &child, &step)
                    }
                }
            }
        }
        guard rc == 0 else {
            if step == KG_SPAWN_STEP_CGROUP {
                throw SystemError("spawn \(path): join cgroup (\(cgroupProcs.joined(separator: ", ")))", code: rc)
            }
            throw SystemError(identity?.describe(step: step, path: path) ?? "spawn \(path)", code: rc)
        }
        pid = child
        let fd = kg_pidfd_open(child)
        guard fd >= 0 else {
            let err = SystemError("pidfd_open")
            _ = kg_kill_group(child, SIGKILL)
            var status: Int32 = 0
            waitpid(child, &status, 0)
            throw err
        }
        let reaper = Reaper(pid: child, pidFD: fd, loop: loop, onExit: onExit)
        self.reaper = reaper
        try loop.register(fd: fd, events: EventLoop.readable) { _ in reaper.reap() }
    }

    /// Sends `signal` to the process group (falling back to the process). Returns false when it is already gone.
    @discardableResult
    public func signalGroup(_ signal: Int32) -> Bool {
        kg_kill_group(pid, signal) == 0
    }

    /// True until the exit watcher has reaped the process. Loop thread only.
    public var isRunning: Bool { !reaper.done }
}

/// Reaps one child when its pidfd becomes readable; runs on the loop thread only.
private final class Reaper: @unchecked Sendable {
    // @unchecked Sendable, audited: only touched on `loop`'s thread (the pidfd handler), `done` included.
    let pid: pid_t
    let pidFD: Int32
    let loop: EventLoop
    let onExit: @Sendable (ProcessExitStatus) -> Void
    var done = false

    init(pid: pid_t, pidFD: Int32, loop: EventLoop, onExit: @escaping @Sendable (ProcessExitStatus) -> Void) {
        self.pid = pid
        self.pidFD = pidFD
        self.loop = loop
        self.onExit = onExit
    }

    func reap() {
        guard !done else { return }
        var status: Int32 = 0
        let rc = kg_reap(pid, &status)
        guard rc == pid || rc < 0 else { return }
        done = true
        loop.deregister(fd: pidFD)
        close(pidFD)
        let exit: ProcessExitStatus
        if rc < 0 {
            exit = .exited(-1)
        } else if kg_wifsignaled(status) != 0 {
            exit = .signaled(kg_wtermsig(status))
        } else {
            exit = .exited(kg_wexitstatus(status))
        }
        onExit(exit)
    }
}

/// Calls `body` with a NULL-terminated C string array made from `strings`.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { buffer in
        // The buffer is never empty (it holds at least the trailing nil), so its base address exists.
        body(buffer.baseAddress.unsafelyUnwrapped)
    }
}
