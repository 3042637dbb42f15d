import CLinuxShim
import Glibc

/// Delivers process signals (SIGINT, SIGTERM, SIGHUP...) as ordinary events on an event loop through a signalfd.
///
/// Call `SignalWatcher.block(_:)` first thing in `main`, before any thread starts, so that every thread inherits
/// the blocked mask and the signals are only ever seen through the signalfd.
public final class SignalWatcher: @unchecked Sendable {
    // @unchecked Sendable, audited: `fd` is immutable; registration happens on the loop thread only.
    private let fd: Int32
    private let loop: EventLoop

    private nonisolated(unsafe) static var blockedFD: Int32 = -1

    /// Blocks `signals` in the calling thread (and so in threads started later) and prepares the signalfd.
    /// Call once, from `main`, before starting threads.
    public static func block(_ signals: [Int32]) throws {
        let fd = signals.withUnsafeBufferPointer { kg_signalfd_block($0.baseAddress, Int32($0.count)) }
        guard fd >= 0 else { throw SystemError("signalfd") }
        blockedFD = fd
    }

    /// Watches the signals blocked by `block(_:)` on `loop`; `handler` runs on the loop thread for each one.
    /// Call on the loop's thread.
    public init(loop: EventLoop, handler: @escaping @Sendable (Int32) -> Void) throws {
        loop.preconditionInEventLoop()
        guard Self.blockedFD >= 0 else { throw SystemError("SignalWatcher: call block(_:) first", code: EINVAL) }
        fd = Self.blockedFD
        self.loop = loop
        let fd = self.fd
        try loop.register(fd: fd, events: EventLoop.readable) { _ in
            while true {
                let signal = kg_signalfd_read(fd)
                if signal < 0 { return }
                handler(signal)
            }
        }
    }
}
