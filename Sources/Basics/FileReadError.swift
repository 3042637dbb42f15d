import Glibc

/// Why `BoundedFileReader.read` failed; `description` names the path, e.g. `/x/kernel.json: larger than 65536 bytes`.
public struct FileReadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Equatable {
        /// `open` failed (see `errno`): missing, not permitted, a symbolic link where none may be.
        case cannotOpen
        /// The path names a directory, FIFO, device or socket.
        case notRegularFile
        /// The file is larger than the given bound (in bytes).
        case tooLarge(Int)
        /// `read` failed (see `errno`).
        case readFailed
    }

    public let code: Code
    public let path: String
    /// The `errno` of the failed call, for `cannotOpen` and `readFailed`.
    public let errno: Int32?

    public init(_ code: Code, path: String, errno: Int32? = nil) {
        self.code = code
        self.path = path
        self.errno = errno
    }

    public var description: String {
        switch code {
        case .cannotOpen: "\(path): cannot open (\(errnoText))"
        case .notRegularFile: "\(path): not a regular file"
        case .tooLarge(let limit): "\(path): larger than \(limit) bytes"
        case .readFailed: "\(path): read failed (\(errnoText))"
        }
    }

    private var errnoText: String { String(cString: strerror(errno ?? 0)) }
}
