import Glibc

/// Writes and removes kernels' connection files in the Jupyter runtime directory.
///
/// Files are named `kernel-<id>.json` and created with `O_CREAT|O_EXCL|O_NOFOLLOW` and mode 0600, so the
/// secret key is never readable by other users, even for an instant, and an existing file or planted symlink is
/// never overwritten. The directory is created with mode 0700 when missing. Blocking file I/O; any thread.
public struct ConnectionFileStore: Sendable {
    /// The runtime directory holding the files.
    public let directory: String

    /// A store writing into `directory` (e.g. `JupyterPaths(environment:).runtimeDirectory`).
    public init(directory: String) {
        self.directory = directory
    }

    /// The path the connection file of kernel `kernelID` has (whether or not it exists). Throws
    /// `.connectionFile` when the id is empty or contains characters other than ASCII letters, digits, `-`, `_`.
    public func path(for kernelID: String) throws -> String {
        let safe = !kernelID.isEmpty && kernelID.utf8.count <= 128 && kernelID.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                return true
            default:
                return false
            }
        }
        guard safe else {
            throw KernelRuntimeError(.connectionFile, "kernel id '\(kernelID)' cannot be used in a file name")
        }
        return FileSystem.join(directory, "kernel-\(kernelID).json")
    }

    /// Writes `info` as the connection file of `kernelID` and returns its path.
    ///
    /// Throws `.connectionFile` when the file already exists (a stale file is never reused: the kernel would
    /// read another key) or the id is unusable, `.systemCallFailed` when the directory or file cannot be
    /// created or written (a partial file is removed).
    @discardableResult
    public func write(_ info: ConnectionInfo, kernelID: String) throws -> String {
        let path = try path(for: kernelID)
        try FileSystem.makeDirectories(directory, mode: 0o700)
        try Self.writeNewFile(info, at: path, owner: nil)
        return path
    }

    /// Writes `info` to a new file at `path` (mode 0600, `O_EXCL|O_NOFOLLOW`), owned by `owner` when given (the
    /// kernel's account under isolation, which must read it). Throws `.connectionFile` when the file exists,
    /// `.systemCallFailed` when it cannot be created, given away or written (a partial file is removed).
    public static func writeNewFile(_ info: ConnectionInfo, at path: String, owner: UnixAccount?) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST {
                throw KernelRuntimeError(.connectionFile, "\(path): connection file already exists")
            }
            throw KernelRuntimeError(.systemCallFailed, "\(path): cannot create (\(FileSystem.errnoText()))")
        }
        // The umask can only remove bits from 0600; fchmod makes the mode exact regardless.
        var failure: String? = fchmod(fd, 0o600) == 0 ? nil : FileSystem.errnoText()
        if failure == nil, let owner, fchown(fd, uid_t(owner.uid), gid_t(owner.gid)) != 0 {
            failure = FileSystem.errnoText()
        }
        let bytes = info.encodedJSON()
        var offset = 0
        while failure == nil && offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { systemWrite(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                failure = FileSystem.errnoText()
            } else {
                offset += written
            }
        }
        if close(fd) != 0 && failure == nil { failure = FileSystem.errnoText() }
        if let failure {
            unlink(path)
            throw KernelRuntimeError(.systemCallFailed, "\(path): cannot write connection file (\(failure))")
        }
    }

    /// Reads back the connection file of `kernelID`. Throws `.fileUnreadable` or `.invalidJSON` naming it.
    public func read(kernelID: String) throws -> ConnectionInfo {
        let path = try path(for: kernelID)
        return try ConnectionInfo.decode(try FileSystem.readFile(path, maxBytes: 65536), context: path)
    }

    /// Removes the connection file of `kernelID`. Returns false when there was none; never throws for a
    /// missing file (removal happens on every shutdown path, some of which never wrote one).
    @discardableResult
    public func remove(kernelID: String) -> Bool {
        guard let path = try? path(for: kernelID) else { return false }
        return unlink(path) == 0
    }
}

/// The libc `write(2)`, renamed because `ConnectionFileStore.write` shadows it inside the type.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, buffer, count)
}
