import Glibc

/// Unbuffered writes to a file descriptor, for messages that must not interleave with `print` buffering.
/// Used from the main thread only.
struct FileStream {
    /// The process's standard error.
    static let standardError = FileStream(descriptor: 2)

    let descriptor: Int32

    /// Writes all of `text`, retrying on partial writes; gives up silently on an error (diagnostics only).
    func write(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count, let base = raw.baseAddress {
                let n = Glibc.write(descriptor, base + offset, raw.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }
}
