import CLinuxShim
import Glibc

/// What a `TCPConnection` tells its owner; all calls happen on the connection's loop thread.
public protocol TCPConnectionDelegate: AnyObject {
    /// Bytes arrived. The buffer is only valid during the call.
    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer)
    /// The outbound queue fell below the low-water mark after having passed the high-water mark.
    func connectionDidDrain(_ connection: TCPConnection)
    /// The connection is closed (by the peer, an error, or `close()`); no further calls follow.
    func connectionDidClose(_ connection: TCPConnection)
    /// The peer half-closed (read returned 0); reading has stopped. The default closes the connection; a
    /// delegate that still owes the peer a response may finish writing first (`closeAfterFlushing`).
    func connectionDidReachEndOfInput(_ connection: TCPConnection)
}

extension TCPConnectionDelegate {
    public func connectionDidReachEndOfInput(_ connection: TCPConnection) {
        connection.close()
    }
}

/// A non-blocking TCP connection on one event loop, with a byte-bounded outbound queue.
///
/// Writes go straight to the socket when nothing is queued; what the kernel does not take is queued and flushed
/// when the socket becomes writable. `queuedBytes` lets owners apply backpressure; `isOverHighWater` turns true
/// past `highWaterMark` and the delegate hears `connectionDidDrain` once the queue is back under a quarter of it.
///
/// Loop-bound: every method must be called on `loop`'s thread (checked). A connection can be moved to another
/// loop with `detach()` + a new `TCPConnection(adopting:...)`.
public final class TCPConnection: @unchecked Sendable {
    // @unchecked Sendable, audited: all mutable state is touched only on `loop`'s thread (preconditions in every
    // entry point); the handler closure registered with the loop captures `self` and runs on that thread.
    public let loop: EventLoop
    public private(set) var fd: Int32
    public weak var delegate: (any TCPConnectionDelegate)?
    public var highWaterMark: Int
    public private(set) var isClosed = false

    private var outbound: [UInt8] = []
    private var outboundStart = 0
    private var wantsWrite = false
    private var readingPaused = false
    private var overHighWater = false
    private var closeAfterFlush = false
    private var registered = false
    private var flushScheduled = false
    private var halfCloseAfterFlush = false

    /// Wraps an accepted, non-blocking descriptor; the connection owns and eventually closes it. Loop thread.
    public init(fd: Int32, loop: EventLoop, highWaterMark: Int = 16 << 20) {
        self.fd = fd
        self.loop = loop
        self.highWaterMark = highWaterMark
    }

    /// Registers with the loop and starts reading. Loop thread.
    public func start() throws {
        loop.preconditionInEventLoop()
        guard !registered, !isClosed else { return }
        wantsWrite = pendingBytes > 0
        lastReadingPaused = readingPaused
        try loop.register(fd: fd, events: currentEvents()) { [self] events in handle(events) }
        registered = true
    }

    /// Bytes written by the owner but not yet taken by the kernel.
    public var queuedBytes: Int { pendingBytes }
    private var pendingBytes: Int { outbound.count - outboundStart }

    public var isOverHighWater: Bool { overHighWater }

    /// Queues `bytes` for sending. Ignored after close. Loop thread.
    ///
    /// Writes made during one loop iteration are coalesced into one `write(2)` at the end of the iteration (a
    /// fan-out or a burst of replies costs one system call per connection, not one per message), without adding
    /// latency: the flush runs before the loop sleeps again.
    public func write(_ bytes: UnsafeRawBufferPointer) {
        loop.preconditionInEventLoop()
        guard !isClosed, bytes.count > 0 else { return }
        outbound.append(contentsOf: bytes)
        if pendingBytes > highWaterMark { overHighWater = true }
        guard registered, !wantsWrite, !flushScheduled else { return }
        flushScheduled = true
        loop.execute { [self] in
            flushScheduled = false
            guard !isClosed else { return }
            flush()
        }
    }

    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    /// Stops reading from the socket (backpressure towards the peer) until `resumeReading`. Loop thread.
    public func pauseReading() {
        loop.preconditionInEventLoop()
        guard !readingPaused else { return }
        readingPaused = true
        updateInterest()
    }

    public func resumeReading() {
        loop.preconditionInEventLoop()
        guard readingPaused else { return }
        readingPaused = false
        updateInterest()
    }

    /// Closes once everything queued has been written (or at once if nothing is). Loop thread.
    public func closeAfterFlushing() {
        loop.preconditionInEventLoop()
        if pendingBytes == 0 { close() } else {
            closeAfterFlush = true
            readingPaused = true
            updateInterest()
        }
    }

    /// Sends everything queued, then half-closes (`shutdown(SHUT_WR)`: our FIN) while reading goes on, so the peer
    /// sees all our bytes and its own in-flight bytes never provoke a reset. Loop thread.
    public func halfCloseAfterFlushing() {
        loop.preconditionInEventLoop()
        guard !isClosed else { return }
        if pendingBytes == 0 {
            _ = Glibc.shutdown(fd, Int32(SHUT_WR))
        } else {
            halfCloseAfterFlush = true
            if !flushScheduled && !wantsWrite { updateInterest() }
        }
    }

    /// Closes now, dropping anything queued, and tells the delegate. Idempotent. Loop thread.
    public func close() {
        loop.preconditionInEventLoop()
        guard !isClosed else { return }
        isClosed = true
        if registered { loop.deregister(fd: fd) }
        registered = false
        Glibc.close(fd)
        fd = -1
        outbound = []
        outboundStart = 0
        delegate?.connectionDidClose(self)
    }

    /// Takes the descriptor and any unsent bytes away from this loop, leaving this object closed without closing
    /// the descriptor or telling the delegate. Used to move a connection to another loop. Loop thread.
    public func detach() -> (fd: Int32, unsent: [UInt8]) {
        loop.preconditionInEventLoop()
        if registered { loop.deregister(fd: fd) }
        registered = false
        let result = (fd, Array(outbound[outboundStart...]))
        isClosed = true
        fd = -1
        outbound = []
        outboundStart = 0
        return result
    }

    /// Re-creates a detached connection on `loop`, queueing the bytes it had not sent yet. Call on `loop`'s thread.
    public convenience init(adopting fd: Int32, unsent: [UInt8], loop: EventLoop, highWaterMark: Int = 16 << 20) {
        self.init(fd: fd, loop: loop, highWaterMark: highWaterMark)
        outbound = unsent
    }

    private func currentEvents() -> EventLoop.Events {
        // Level-triggered: a peer's half-close (RDHUP) stays reported, so it is only asked for while reading;
        // HUP and ERR are always reported by epoll and always end the connection.
        var events: EventLoop.Events = UInt32(EPOLLHUP.rawValue) | UInt32(EPOLLERR.rawValue)
        if !readingPaused { events |= EventLoop.readable | UInt32(EPOLLRDHUP.rawValue) }
        if pendingBytes > 0 { events |= EventLoop.writable }
        return events
    }

    private func updateInterest() {
        guard registered else { return }
        let wants = pendingBytes > 0
        // Re-arm only on a change: epoll_ctl is a syscall.
        if wants != wantsWrite || readingPausedChanged {
            wantsWrite = wants
            lastReadingPaused = readingPaused
            try? loop.modify(fd: fd, events: currentEvents())
        }
    }

    private var lastReadingPaused = false
    private var readingPausedChanged: Bool { lastReadingPaused != readingPaused }

    private func handle(_ events: EventLoop.Events) {
        if events & EventLoop.writable != 0 { flush() }
        if isClosed { return }
        if events & EventLoop.readable != 0 && !readingPaused {
            readAvailable()
        } else if events & (UInt32(EPOLLHUP.rawValue) | UInt32(EPOLLERR.rawValue)) != 0 {
            close()
        }
    }

    private func readAvailable() {
        let scratch = loop.readScratch
        // A bounded number of reads per wake-up keeps one busy peer from starving the others.
        for _ in 0..<4 {
            let n = Glibc.read(fd, scratch.baseAddress, scratch.count)
            if n > 0 {
                delegate?.connection(self, didRead: UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
                if isClosed || readingPaused || n < scratch.count { return }
            } else if n == 0 {
                // The peer finished sending. The delegate decides (by default: close now).
                readingPaused = true
                updateInterest()
                if let delegate { delegate.connectionDidReachEndOfInput(self) } else { close() }
                return
            } else {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
                close()
                return
            }
        }
    }

    private func flush() {
        while pendingBytes > 0 {
            let n = outbound.withUnsafeBytes { raw in
                Glibc.write(fd, raw.baseAddress?.advanced(by: outboundStart), pendingBytes)
            }
            if n > 0 {
                outboundStart += n
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                break
            } else {
                close()
                return
            }
        }
        if pendingBytes == 0 {
            outbound.removeAll(keepingCapacity: outbound.capacity <= 1 << 20)
            outboundStart = 0
        } else if outboundStart > 1 << 20 && outboundStart > outbound.count / 2 {
            outbound.removeFirst(outboundStart)
            outboundStart = 0
        }
        if overHighWater && pendingBytes < highWaterMark / 4 {
            overHighWater = false
            delegate?.connectionDidDrain(self)
        }
        if closeAfterFlush && pendingBytes == 0 {
            close()
            return
        }
        if halfCloseAfterFlush && pendingBytes == 0 {
            halfCloseAfterFlush = false
            _ = Glibc.shutdown(fd, Int32(SHUT_WR))
        }
        updateInterest()
    }
}
