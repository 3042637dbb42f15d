import Glibc

/// The directories kernel isolation needs, created and removed with the care a root process owes to paths that
/// untrusted kernels can write into.
///
/// - Roots (`--kernel-dir-root`, `--kernel-home-root`) belong to the gateway, mode 0711: every kernel account can
///   pass through, none can list or write them. Every ancestor must be traversable by others, or no kernel
///   account could reach its own directory.
/// - A kernel's private directory and a user's home belong to the kernel's account, mode 0700.
/// - Removal never follows symlinks (`openat(O_NOFOLLOW)`, `unlinkat`): a kernel that plants a link in its
///   directory cannot make the gateway delete anything outside it.
/// Blocking file-system calls; control path only, any thread.
public enum KernelDirectories {
    /// The largest number of entries `removeTree` deletes; a kernel that filled its directory with more is left
    /// with the rest (logged by the caller), so cleanup stays bounded.
    public static let removalLimit = 100_000

    /// Creates `path` (and missing parents) as a root directory: owned by the gateway, mode 0711.
    /// - Parameter reachableByOthers: check that every ancestor lets other users through (kernels run as other
    ///   accounts); false when kernels run as the gateway's own user (sandbox without root).
    /// - Throws: `.isolation` when it exists but is not a directory owned by the gateway, or when an ancestor
    ///   cannot be traversed by other users (kernel accounts could not reach it).
    public static func prepareRoot(_ path: String, reachableByOthers: Bool) throws {
        try FileSystem.makeDirectories(path, mode: 0o711)
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw KernelRuntimeError(.isolation, "\(path) is not a directory")
        }
        guard info.st_uid == geteuid() else {
            throw KernelRuntimeError(.isolation, "\(path) is owned by uid \(info.st_uid), not by the gateway (uid \(geteuid()))")
        }
        guard chmod(path, 0o711) == 0 else {
            throw KernelRuntimeError(.isolation, "\(path): cannot set mode 0711 (\(FileSystem.errnoText()))")
        }
        var ancestor = path
        while reachableByOthers, let slash = ancestor.lastIndex(of: "/"), slash != ancestor.startIndex {
            ancestor = String(ancestor[..<slash])
            guard let mode = FileSystem.permissions(of: ancestor) else { continue }
            if mode & 0o001 == 0 {
                throw KernelRuntimeError(
                    .isolation,
                    "kernel accounts cannot reach \(path): \(ancestor) has mode \(String(mode, radix: 8)) (others need x)")
            }
        }
    }

    /// Makes sure `path` is a home directory of `account` (or of the gateway's own user when nil): created mode
    /// 0700 and owned by the account when missing; when present it must be a real directory (not a symlink)
    /// already owned by that uid.
    public static func prepareHome(_ path: String, account: UnixAccount?) throws {
        let uid = account.map { uid_t($0.uid) } ?? geteuid()
        let gid = account.map { gid_t($0.gid) } ?? getegid()
        if mkdir(path, 0o700) == 0 {
            if account != nil && chown(path, uid, gid) != 0 {
                let reason = FileSystem.errnoText()
                rmdir(path)
                throw KernelRuntimeError(.isolation, "\(path): cannot give the home to uid \(uid) (\(reason))")
            }
            return
        }
        guard errno == EEXIST else {
            throw KernelRuntimeError(.isolation, "\(path): cannot create the home directory (\(FileSystem.errnoText()))")
        }
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw KernelRuntimeError(.isolation, "home \(path) is not a directory")
        }
        guard info.st_uid == uid else {
            throw KernelRuntimeError(.isolation, "home \(path) is owned by uid \(info.st_uid), not by uid \(uid)")
        }
    }

    /// Creates a kernel's private directory, mode 0700, owned by `account` (or the gateway when nil). A leftover
    /// directory of the same name is an error: a kernel id is never reused.
    public static func createKernelDirectory(_ path: String, account: UnixAccount?) throws {
        guard mkdir(path, 0o700) == 0 else {
            throw KernelRuntimeError(.isolation, "\(path): cannot create the kernel directory (\(FileSystem.errnoText()))")
        }
        if let account, chown(path, uid_t(account.uid), gid_t(account.gid)) != 0 {
            let reason = FileSystem.errnoText()
            rmdir(path)
            throw KernelRuntimeError(.isolation, "\(path): cannot give the kernel directory to \(account.name) (\(reason))")
        }
    }

    /// Removes `path` and everything below it without following symlinks. Returns false when something was
    /// left (more than `removalLimit` entries, or an entry that could not be removed); a missing path is true.
    @discardableResult
    public static func removeTree(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return errno == ENOENT }
        var budget = removalLimit
        let emptied = emptyDirectory(fd, depth: 0, budget: &budget)
        return emptied && rmdir(path) == 0
    }

    /// Deletes the contents of the open directory `fd` (closing it). Depth and entries are bounded.
    private static func emptyDirectory(_ fd: Int32, depth: Int, budget: inout Int) -> Bool {
        guard let dir = fdopendir(fd) else {
            close(fd)
            return false
        }
        defer { closedir(dir) }
        let names = FileSystem.entryNames(dir, limit: budget)
        var complete = true
        for name in names {
            guard budget > 0 else { return false }
            budget -= 1
            if unlinkat(fd, name, 0) == 0 { continue }
            guard errno == EISDIR || errno == EPERM, depth < 64 else {
                complete = false
                continue
            }
            let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard child >= 0 else {
                complete = false
                continue
            }
            if !emptyDirectory(child, depth: depth + 1, budget: &budget) || unlinkat(fd, name, AT_REMOVEDIR) != 0 {
                complete = false
            }
        }
        return complete
    }

    /// Why `path` (a gateway file no kernel may read) is not private, or nil when it is private or missing:
    /// group or other permission bits, or an owner other than the gateway.
    public static func privacyProblem(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        if info.st_uid != geteuid() {
            return "\(path) is owned by uid \(info.st_uid), not by the gateway (uid \(geteuid()))"
        }
        let mode = UInt32(info.st_mode) & 0o777
        if mode & 0o077 != 0 {
            return "\(path) has mode \(String(mode, radix: 8)); kernels must not read or write it (chmod go-rwx)"
        }
        return nil
    }
}
