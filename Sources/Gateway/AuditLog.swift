import Basics
import Authorization
import Glibc
import Synchronization

/// Appends audit events as JSON lines to a file (or nowhere when no path is configured). Thread-safe; each
/// event is one `write(2)` on an `O_APPEND` descriptor, so lines never interleave and log rotation by rename works
/// after a SIGHUP `reopen()`.
final class AuditLog: Sendable {
    private let path: String?
    private let fd: Mutex<Int32>

    /// Opens (creating with mode 0600) the file at `path`. Throws `AuditLogError` when it cannot be opened.
    init(path: String?) throws {
        self.path = path
        if let path {
            let opened = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            guard opened >= 0 else { throw AuditLogError(message: "cannot open audit log \(path): \(String(cString: strerror(errno)))") }
            fd = Mutex(opened)
        } else {
            fd = Mutex(-1)
        }
    }

    deinit {
        fd.withLock { if $0 >= 0 { close($0) } }
    }

    var isEnabled: Bool { path != nil }

    func record(_ event: AuditEvent) {
        guard isEnabled else { return }
        let line = AuditEncoder.encodeLine(event)
        fd.withLock { fd in
            guard fd >= 0 else { return }
            line.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
        }
    }

    /// Reopens the file (after rotation).
    func reopen() {
        guard let path else { return }
        let opened = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard opened >= 0 else { return }
        fd.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = opened
        }
    }

    /// Wall-clock milliseconds since the epoch, the time `AuditEvent`s carry.
    static func nowMilliseconds() -> Int64 { UTCTimestamp.now().milliseconds }
}

struct AuditLogError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
