import Basics
import Glibc

/// The small file operations cgroups are made of. Blocking, cheap (cgroupfs is in memory), safe from any thread.
enum CgroupFiles {
    /// Writes `text` to an existing file in one `write` (cgroupfs takes a value per write).
    static func write(_ text: String, to path: String) throws(CgroupError) {
        let fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard fd >= 0 else { throw CgroupError("cannot open \(path): \(String(cString: strerror(errno)))", code: errno) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            let code = written < 0 ? errno : EIO
            throw CgroupError("cannot write '\(text)' to \(path): \(String(cString: strerror(code)))", code: code)
        }
    }

    /// The first bytes (at most 4 KiB) of a small file, or nil when it cannot be read: one open and one read.
    static func readSmall(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { buffer -> String? in
            let count = read(fd, buffer.baseAddress, buffer.count)
            guard count >= 0 else { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<count]), as: UTF8.self)
        }
    }

    /// A file holding one unsigned integer (`memory.current`, `pids.current`); nil when unreadable or "max".
    static func readInteger(_ path: String) -> UInt64? {
        guard let text = readSmall(path) else { return nil }
        return UInt64(trim(text))
    }

    /// The value of `key` in a flat keyed file (`memory.events`, `cpu.stat`, `memory.oom_control`): lines of
    /// "key value".
    static func keyedValue(_ text: String, key: String) -> UInt64? {
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 1)
            if fields.count == 2, fields[0] == key { return UInt64(trim(fields[1])) }
        }
        return nil
    }

    /// The pids listed in a `cgroup.procs` file (empty when it cannot be read).
    static func processIDs(_ procsFile: String) -> [pid_t] {
        guard let bytes = try? BoundedFileReader.read(procsFile, maxBytes: 8 << 20) else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { pid_t($0) }
    }

    /// `text` without leading and trailing whitespace (no Foundation in this module).
    static func trim<S: StringProtocol>(_ text: S) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(text[first...last])
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }

    /// mkdir, an existing directory being fine.
    static func makeDirectory(_ path: String) throws(CgroupError) {
        if mkdir(path, 0o755) == 0 || (errno == EEXIST && isDirectory(path)) { return }
        let code = errno
        throw CgroupError("cannot create cgroup \(path): \(String(cString: strerror(code)))", code: code)
    }

    /// The names of the subdirectories of `path` (child cgroups).
    static func subdirectories(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != ".", name != "..", isDirectory(path + "/" + name) { names.append(name) }
        }
        return names.sorted()
    }
}
