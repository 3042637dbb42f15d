import Glibc

/// A Unix account as the password and group databases describe it: what a kernel process runs as.
///
/// `lookup(name:)` reads the databases (NSS, so `/etc/passwd` or LDAP alike); the value itself is plain data,
/// checked by `KernelIsolation.validate` before any kernel runs as it.
public struct UnixAccount: Sendable, Equatable {
    public var name: String
    public var uid: UInt32
    public var gid: UInt32
    /// Every group the account is in (primary included), as `initgroups` would set them.
    public var groups: [UInt32]
    /// The home directory from the password database.
    public var home: String

    /// Creates an account from explicit parts (tests; production uses `lookup`).
    public init(name: String, uid: UInt32, gid: UInt32, groups: [UInt32], home: String) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.groups = groups
        self.home = home
    }

    /// The account the gateway itself runs as (effective uid and gid, current groups); what sandboxed kernels
    /// run as when the gateway is not root.
    public static func current() -> UnixAccount {
        let uid = UInt32(geteuid())
        let gid = UInt32(getegid())
        var name = "uid\(uid)"
        var home = ""
        if let entry = getpwuid(geteuid()) {
            name = entry.pointee.pw_name.map { String(cString: $0) } ?? name
            home = entry.pointee.pw_dir.map { String(cString: $0) } ?? ""
        }
        return UnixAccount(name: name, uid: uid, gid: gid, groups: [gid], home: home)
    }

    /// Looks `name` up in the password and group databases. Blocking (NSS may do I/O); control path only.
    /// - Throws: `.isolation` when there is no such account.
    public static func lookup(name: String) throws -> UnixAccount {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        let rc = getpwnam_r(name, &entry, &buffer, buffer.count, &result)
        guard rc == 0, let found = result else {
            let why = rc == 0 ? "does not exist" : "cannot be looked up (\(String(cString: strerror(rc))))"
            throw KernelRuntimeError(.isolation, "Unix account '\(name)' \(why)")
        }
        let uid = UInt32(found.pointee.pw_uid)
        let gid = UInt32(found.pointee.pw_gid)
        let home = found.pointee.pw_dir.map { String(cString: $0) } ?? ""
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        while getgrouplist(name, gid, &groups, &count) < 0 {
            // `count` now holds the size needed; bounded so a broken database cannot make this loop forever.
            guard count > Int32(groups.count), count <= 65536 else {
                throw KernelRuntimeError(.isolation, "the groups of Unix account '\(name)' cannot be listed")
            }
            groups = [gid_t](repeating: 0, count: Int(count))
        }
        let list = Array(groups.prefix(Int(count))).map { UInt32($0) }
        return UnixAccount(name: name, uid: uid, gid: gid, groups: list.isEmpty ? [gid] : list, home: home)
    }
}
