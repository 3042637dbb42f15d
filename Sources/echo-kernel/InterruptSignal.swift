import Glibc
import Synchronization

/// Interrupt requests, from SIGINT (`interrupt_mode: signal`) or from `interrupt_request` on control.
///
/// The SIGINT handler only does async-signal-safe work: an atomic store and a one-byte `write` to a
/// non-blocking self-pipe whose read end sits in every `zmq_poll`, so a signal wakes the loop even when it
/// lands just before the poll starts. Both statics are initialised by `install()` before the handler
/// exists, so the handler never runs a lazy global initialiser.
enum InterruptSignal {
    private static let pending = Atomic<Bool>(false)
    private static let pipeWriteFD = Atomic<Int32>(-1)

    /// Creates the self-pipe and installs the SIGINT handler. Returns the pipe's read end (for polling).
    /// Throws when the pipe cannot be created.
    static func install() throws(EchoKernelError) -> Int32 {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw EchoKernelError("pipe failed: errno \(errno)") }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        pending.store(false, ordering: .relaxed)
        pipeWriteFD.store(fds[1], ordering: .releasing)
        // glibc's signal() has BSD semantics (SA_RESTART, handler stays installed).
        signal(SIGINT) { _ in
            InterruptSignal.pending.store(true, ordering: .releasing)
            var byte: UInt8 = 1
            _ = write(InterruptSignal.pipeWriteFD.load(ordering: .acquiring), &byte, 1)
        }
        return fds[0]
    }

    /// Marks an interrupt as requested (used by `interrupt_request`).
    static func request() {
        pending.store(true, ordering: .releasing)
    }

    /// Returns whether an interrupt is pending and clears it.
    static func consume() -> Bool {
        pending.exchange(false, ordering: .acquiringAndReleasing)
    }

    /// Whether an interrupt is pending (does not clear it).
    static var isPending: Bool { pending.load(ordering: .acquiring) }

    /// Empties the self-pipe (its bytes carry no information beyond "wake up").
    static func drain(_ fd: Int32) {
        var sink: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        while withUnsafeMutableBytes(of: &sink, { read(fd, $0.baseAddress, $0.count) }) > 0 {}
    }
}
