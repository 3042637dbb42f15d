import Basics
import Glibc

/// The few file-system calls the module needs, on raw POSIX so symlink and permission handling is explicit.
///
/// Internal: callers see `KernelRuntimeError`s, never `errno`. All functions are synchronous, blocking, and
/// safe to call from any thread; they are meant for control operations (discovery, launch), not hot paths.
enum FileSystem {
    /// What a path names, without following a final symlink (`lstat`) unless asked to.
    enum Kind: Equatable {
        case regular
        case directory
        case symlink
        case other
    }

    /// The kind of `path`, or nil when it does not exist (or cannot be inspected).
    static func kind(of path: String, followSymlinks: Bool) -> Kind? {
        var info = stat()
        let result = followSymlinks ? stat(path, &info) : lstat(path, &info)
        guard result == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    /// The permission bits (`st_mode & 0o7777`) of `path` (following symlinks), or nil.
    static func permissions(of path: String) -> UInt32? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt32(info.st_mode) & 0o7777
    }

    /// True when `path` is a regular file (after following symlinks) that the current user may execute.
    static func isExecutableFile(_ path: String) -> Bool {
        kind(of: path, followSymlinks: true) == .regular && access(path, X_OK) == 0
    }

    /// The names in a directory, excluding `.` and `..`, sorted for deterministic results; empty when the
    /// directory does not exist or cannot be read (a missing search-path entry is normal, not an error).
    static func listDirectory(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        return entryNames(dir, limit: Int.max).sorted()
    }

    /// The names read from an open directory stream, excluding `.` and `..`, in directory order; stops after
    /// `limit + 1` names (so a caller can tell that there were more than `limit`).
    static func entryNames(_ dir: OpaquePointer, limit: Int) -> [String] {
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
            if names.count > limit { break }
        }
        return names
    }

    /// Reads a whole regular file of at most `maxBytes` (`BoundedFileReader`). Throws `.fileUnreadable` naming `path`.
    static func readFile(_ path: String, maxBytes: Int) throws -> [UInt8] {
        do {
            return try BoundedFileReader.read(path, maxBytes: maxBytes)
        } catch {
            throw KernelRuntimeError(.fileUnreadable, error.description)
        }
    }

    /// The canonical absolute path (symlinks resolved), or nil when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The canonical path of `file` inside `directory` when it is a servable resource: a plain, non-hidden name
    /// (no `/`, backslash, NUL, not starting with `.`) that, after resolving symlinks, is a regular file directly inside
    /// the resolved `directory` and is not hidden there either. Nil otherwise.
    static func resolveFileInside(directory: String, file: String) -> String? {
        guard !file.isEmpty, !file.hasPrefix("."), !file.utf8.contains(UInt8(ascii: "/")),
            !file.utf8.contains(UInt8(ascii: "\\")), !file.utf8.contains(0),
            let base = realPath(directory), let resolved = realPath(join(directory, file)),
            let slash = resolved.lastIndex(of: "/")
        else { return nil }
        let parent = String(resolved[..<slash])
        let name = resolved[resolved.index(after: slash)...]
        guard parent == (base == "/" ? "" : base), !name.hasPrefix("."),
            kind(of: resolved, followSymlinks: false) == .regular
        else { return nil }
        return resolved
    }

    /// Creates `path` and any missing parents with `mode`. Existing directories are left as they are.
    /// Throws `.systemCallFailed` naming the directory that could not be created, or that is not a directory.
    static func makeDirectories(_ path: String, mode: mode_t) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += "/" + component
            if mkdir(prefix, mode) != 0 && errno != EEXIST {
                throw KernelRuntimeError(.systemCallFailed, "\(prefix): cannot create directory (\(errnoText()))")
            }
        }
        guard kind(of: path, followSymlinks: true) == .directory else {
            throw KernelRuntimeError(.systemCallFailed, "\(path): exists but is not a directory")
        }
    }

    /// The text of the current `errno`.
    static func errnoText() -> String {
        String(cString: strerror(errno))
    }

    /// Joins two path pieces with exactly one `/`.
    static func join(_ base: String, _ name: String) -> String {
        if base.isEmpty { return name }
        return base.hasSuffix("/") ? base + name : base + "/" + name
    }
}
