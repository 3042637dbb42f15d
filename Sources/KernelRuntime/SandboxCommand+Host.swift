import Glibc

extension SandboxCommand {
    /// `inspect(path)` for a sandbox that bubblewrap sets up as `account`: nil as well when the account cannot
    /// reach `path` (some directory above it denies it search permission). bubblewrap runs as the account, so it
    /// could not bind or mask such a path, and the kernel could not read it anyway: the layout leaves it out
    /// (a kernelspec in a root-only checkout, a gateway file in a 0700 directory).
    public static func inspect(_ path: String, reachableBy account: UnixAccount) -> HostPath? {
        guard isReachable(path, by: account) else { return nil }
        return inspect(path)
    }

    /// Whether every directory above `path` grants `account` search permission (owner, group or other bits,
    /// as the kernel checks them; root passes everywhere).
    static func isReachable(_ path: String, by account: UnixAccount) -> Bool {
        guard account.uid != 0 else { return true }
        var prefix = ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true).dropLast() {
            prefix += "/" + component
            var info = stat()
            guard stat(prefix, &info) == 0 else { return false }
            let mode = UInt32(info.st_mode)
            let bit: UInt32
            if UInt32(info.st_uid) == account.uid {
                bit = 0o100
            } else if account.groups.contains(UInt32(info.st_gid)) || UInt32(info.st_gid) == account.gid {
                bit = 0o010
            } else {
                bit = 0o001
            }
            if mode & bit == 0 { return false }
        }
        return true
    }

    /// What `path` is on this host, without following a final symlink (nil when it does not exist): the
    /// production `hostPath` of `init`.
    public static func inspect(_ path: String) -> HostPath? {
        switch FileSystem.kind(of: path, followSymlinks: false) {
        case .directory?: return .directory
        case .regular?, .other?: return .file
        case .symlink?:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = readlink(path, &buffer, buffer.count - 1)
            guard count > 0 else { return nil }
            return .symlink(target: String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self))
        case nil: return nil
        }
    }
}
