import CLinuxShim
import EventLoop
import Glibc

/// The Unix account a child process runs as, applied between fork and exec (see `ChildProcess.init`).
///
/// The child sets, in this order: exactly `supplementaryGroups`, then the real, effective and saved group ids to
/// `gid`, then the three user ids to `uid`; it then checks the ids read back as requested and, when `uid`
/// (or `gid`) is not 0, that it can no longer switch back to 0. Only then does it set no_new_privs, the `umask`,
/// and enter `workingDirectory`, so the directory is checked against the account's own permissions.
/// Any failed step stops the start: nothing runs with a half-applied identity.
///
/// Policy is the caller's: no id is refused here (uid 0 included), and nothing is looked up. Pass the account's
/// groups (e.g. from `getgrouplist`) in `supplementaryGroups`; an empty list drops every group the gateway had.
/// Changing to another account needs CAP_SETUID and CAP_SETGID (in practice: the gateway runs as root).
public struct ProcessIdentity: Sendable, Equatable {
    /// Real, effective and saved user id of the child.
    public var uid: uid_t
    /// Real, effective and saved group id of the child.
    public var gid: gid_t
    /// The complete supplementary group list (`setgroups`); not merged with the gateway's own groups.
    public var supplementaryGroups: [gid_t]
    /// The file mode creation mask the child starts with.
    public var umask: mode_t
    /// Directory the child starts in, entered as the account; nil keeps the gateway's. A relative path is resolved
    /// against the gateway's working directory.
    public var workingDirectory: String?
    /// Sets PR_SET_NO_NEW_PRIVS, so neither the program nor its descendants can gain privileges through setuid or
    /// setgid binaries or file capabilities. Also inherited by everything the child starts.
    public var noNewPrivileges: Bool
    /// Signals the child starts with ignored (inherited across exec) instead of at their defaults: for a wrapper
    /// such as bubblewrap that must survive a SIGINT meant for the program it runs.
    public var ignoredSignals: [Int32]
    /// Starts the child in a new network namespace with only its own loopback (needs root): it can reach no
    /// network and no loopback port of the host.
    public var newNetworkNamespace: Bool

    public init(
        uid: uid_t, gid: gid_t, supplementaryGroups: [gid_t] = [], umask: mode_t = 0o022,
        workingDirectory: String? = nil, noNewPrivileges: Bool = true, ignoredSignals: [Int32] = [],
        newNetworkNamespace: Bool = false
    ) {
        self.ignoredSignals = ignoredSignals
        self.newNetworkNamespace = newNetworkNamespace
        self.uid = uid
        self.gid = gid
        self.supplementaryGroups = supplementaryGroups
        self.umask = umask
        self.workingDirectory = workingDirectory
        self.noNewPrivileges = noNewPrivileges
    }
}

extension ProcessIdentity {
    /// Rejects values C would silently truncate.
    /// - Throws: `SystemError` (EINVAL) when `workingDirectory` contains a NUL byte.
    func validate() throws {
        if let directory = workingDirectory, directory.utf8.contains(0) {
            throw SystemError("working directory \(directory.debugDescription) contains a NUL byte", code: EINVAL)
        }
    }

    /// Calls `body` with a C view of this identity; the pointers inside are valid only during the call.
    func withCIdentity<R>(_ body: (UnsafePointer<kg_spawn_identity>) -> R) -> R {
        supplementaryGroups.withUnsafeBufferPointer { groups in
            ignoredSignals.withUnsafeBufferPointer { ignored in
                withOptionalCString(workingDirectory) { cwd in
                    var identity = kg_spawn_identity(
                        uid: uid, gid: gid, groups: groups.baseAddress,
                        // Out-of-range counts are left for the kernel to refuse (EINVAL above NGROUPS_MAX).
                        group_count: Int32(clamping: groups.count),
                        umask: umask, cwd: cwd, no_new_privs: noNewPrivileges ? 1 : 0,
                        ignored_signals: ignored.baseAddress, ignored_count: Int32(clamping: ignored.count),
                        new_network_namespace: newNetworkNamespace ? 1 : 0)
                    return withUnsafePointer(to: &identity) { body($0) }
                }
            }
        }
    }

    /// The failed start step as an operation for `SystemError`, naming the ids or path involved.
    func describe(step: kg_spawn_step, path: String) -> String {
        let detail: String
        switch step {
        case KG_SPAWN_STEP_SETGROUPS:
            detail = supplementaryGroups.count <= 16
                ? "setgroups(\(supplementaryGroups))" : "setgroups(\(supplementaryGroups.count) groups)"
        case KG_SPAWN_STEP_SETRESGID: detail = "setresgid(\(gid))"
        case KG_SPAWN_STEP_SETRESUID: detail = "setresuid(\(uid))"
        case KG_SPAWN_STEP_VERIFY_IDS: detail = "verify switch to uid \(uid) gid \(gid)"
        case KG_SPAWN_STEP_CHDIR: detail = "chdir \(workingDirectory ?? "")"
        case KG_SPAWN_STEP_EXECVE: detail = "execve \(path)"
        default: detail = String(cString: kg_spawn_step_name(step))
        }
        return "spawn \(path) as uid \(uid) gid \(gid): \(detail)"
    }
}

/// Calls `body` with `string` as a C string, or with nil.
private func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
