import Glibc

/// The one way to read a whole file into memory: small files (configuration, kernelspecs and their resources,
/// connection files) that must stay small, so a wrong path (a log, a device, a FIFO) fails instead of filling
/// memory or blocking the thread.
///
/// Synchronous and blocking; meant for control operations, not the message path. Safe from any thread.
public enum BoundedFileReader {
    /// Reads the whole regular file at `path`, at most `maxBytes` bytes.
    ///
    /// Opens with `O_NONBLOCK`, so a FIFO or device is refused by the regular-file check instead of blocking in
    /// `open`. With `followSymlinks` false, a final symbolic link is refused (`O_NOFOLLOW`): for paths that were
    /// resolved and checked just before, so a link swapped in since cannot redirect the read.
    /// - Throws: `FileReadError` naming the path: it cannot be opened, is not a regular file, is larger than
    ///   `maxBytes` (checked before reading and while reading, in case it grows), or a read fails.
    public static func read(_ path: String, maxBytes: Int, followSymlinks: Bool = true) throws(FileReadError) -> [UInt8] {
        let flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (followSymlinks ? 0 : O_NOFOLLOW)
        let fd = open(path, flags)
        guard fd >= 0 else { throw FileReadError(.cannotOpen, path: path, errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw FileReadError(.notRegularFile, path: path)
        }
        guard Int(info.st_size) <= maxBytes else { throw FileReadError(.tooLarge(maxBytes), path: path) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(info.st_size))
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileReadError(.readFailed, path: path, errno: errno)
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > maxBytes { throw FileReadError(.tooLarge(maxBytes), path: path) }
        }
    }
}
