import EventLoop
import Logging
import Glibc

/// Reads one kernel process's stdout/stderr pipe on the kernel's loop and logs it line by line.
final class KernelOutputReader: @unchecked Sendable {
    // @unchecked Sendable, audited: created on the loop and used only by its readiness handler on that loop.
    private let fd: Int32
    private let loop: EventLoop
    private let logger: Logger
    private var lines = KernelOutputLines()
    private var buffer = [UInt8](repeating: 0, count: 16384)

    init(fd: Int32, loop: EventLoop, logger: Logger) {
        self.fd = fd
        self.loop = loop
        self.logger = logger
    }

    /// Reads what is there; at end of file (every writer gone) logs the rest, deregisters and closes.
    func drain() {
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                log(lines.feed(buffer[0..<count], now: Monotonic.now))
                continue
            }
            if count < 0 && (errno == EAGAIN || errno == EINTR) { return }
            log(lines.finish())
            loop.deregister(fd: fd)
            close(fd)
            return
        }
    }

    private func log(_ output: [String]) {
        for line in output { logger.info("kernel output", metadata: ["line": "\(line)"]) }
    }
}
