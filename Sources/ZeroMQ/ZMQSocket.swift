import CZeroMQ
import Glibc

/// The ZeroMQ socket types the gateway and the echo kernel use.
public enum ZMQSocketType: Sendable {
    case dealer, router, pub, sub, req, rep

    var raw: Int32 {
        switch self {
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        }
    }
}

/// One ZeroMQ socket. ZeroMQ sockets are not thread-safe, so this class is deliberately not `Sendable`: it lives
/// inside the actor (or single thread) that owns it, and the compiler enforces that ownership.
///
/// Event-loop integration: register `fileDescriptor` for `EPOLLIN` and, when it fires, call `receive` until it
/// returns false. The descriptor is edge-like: it only re-arms once `ZMQ_EVENTS` has been read, so after every
/// send check `hasInput` too. `LINGER` is 0, so closing never blocks context termination.
public final class ZMQSocket {
    private var handle: UnsafeMutableRawPointer?
    private var message = zmq_msg_t()

    /// Creates a socket of `type` in `context` with `LINGER` 0.
    public init(context: ZMQContext, type: ZMQSocketType) throws {
        guard let socket = zmq_socket(context.handle, type.raw) else { throw ZMQError("zmq_socket") }
        handle = socket
        var zero: Int32 = 0
        zmq_setsockopt(socket, ZMQ_LINGER, &zero, MemoryLayout<Int32>.size)
        zmq_msg_init(&message)
    }

    deinit {
        close()
        zmq_msg_close(&message)
    }

    /// Closes the socket; further calls fail with `ENOTSOCK`. Idempotent.
    public func close() {
        if let handle {
            zmq_close(handle)
            self.handle = nil
        }
    }

    private func socket() throws -> UnsafeMutableRawPointer {
        guard let handle else { throw ZMQError("socket closed", code: ENOTSOCK) }
        return handle
    }

    public func setOption(_ option: Int32, _ value: Int32) throws {
        var v = value
        guard zmq_setsockopt(try socket(), option, &v, MemoryLayout<Int32>.size) == 0 else {
            throw ZMQError("zmq_setsockopt(\(option))")
        }
    }

    public func setOption(_ option: Int32, bytes: [UInt8]) throws {
        let rc = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        guard rc == 0 else { throw ZMQError("zmq_setsockopt(\(option))") }
    }

    /// Sets `ZMQ_ROUTING_ID` (must happen before connect).
    public func setIdentity(_ identity: [UInt8]) throws { try setOption(ZMQ_ROUTING_ID, bytes: identity) }

    /// Subscribes a SUB socket to every topic.
    public func subscribeAll() throws { try setOption(ZMQ_SUBSCRIBE, bytes: []) }

    public func connect(_ endpoint: String) throws {
        guard zmq_connect(try socket(), endpoint) == 0 else { throw ZMQError("zmq_connect(\(endpoint))") }
    }

    public func bind(_ endpoint: String) throws {
        guard zmq_bind(try socket(), endpoint) == 0 else { throw ZMQError("zmq_bind(\(endpoint))") }
    }

    /// The endpoint actually bound (useful after binding to port 0 / `*`).
    public func lastEndpoint() throws -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        guard zmq_getsockopt(try socket(), ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else {
            throw ZMQError("zmq_getsockopt(LAST_ENDPOINT)")
        }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The descriptor to watch with epoll for `EPOLLIN` (see the type's notes).
    public var fileDescriptor: Int32 {
        var fd: Int32 = -1
        var size = MemoryLayout<Int32>.size
        zmq_getsockopt(handle, ZMQ_FD, &fd, &size)
        return fd
    }

    /// True when a message can be received now. Reading this also re-arms `fileDescriptor`.
    public var hasInput: Bool {
        var events: Int32 = 0
        var size = MemoryLayout<Int32>.size
        guard zmq_getsockopt(handle, ZMQ_EVENTS, &events, &size) == 0 else { return false }
        return events & Int32(ZMQ_POLLIN) != 0
    }

    /// Sends one frame without blocking. Returns false when the socket would block (high-water mark reached).
    /// - Parameter more: true for every frame but the last of a multipart message.
    @inline(__always)
    public func send(_ frame: UnsafeRawBufferPointer, more: Bool) throws -> Bool {
        let flags = ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)
        if zmq_send(try socket(), frame.baseAddress, frame.count, flags) >= 0 { return true }
        let code = zmq_errno()
        if code == EAGAIN { return false }
        throw ZMQError("zmq_send", code: code)
    }

    /// Sends a whole multipart message without blocking. Returns false when the first frame would block; once the
    /// first frame is accepted, ZeroMQ guarantees the rest of the message is accepted atomically.
    public func send(frames: [[UInt8]]) throws -> Bool {
        for (i, frame) in frames.enumerated() {
            let sent = try frame.withUnsafeBytes { try send($0, more: i < frames.count - 1) }
            if !sent { return false }
        }
        return true
    }

    /// Receives one whole multipart message without blocking into `frames` (replacing its contents). Returns false
    /// when no message is waiting. The inner arrays are reused (their capacity kept), so a caller that passes the
    /// same array every time receives without allocating once the buffers are large enough.
    public func receive(into frames: inout [[UInt8]]) throws -> Bool {
        let socket = try socket()
        var count = 0
        while true {
            let rc = zmq_msg_recv(&message, socket, ZMQ_DONTWAIT)
            if rc < 0 {
                let code = zmq_errno()
                if code == EAGAIN && count == 0 { return false }
                if code == EINTR { continue }
                throw ZMQError("zmq_msg_recv", code: code)
            }
            let size = zmq_msg_size(&message)
            let bytes = UnsafeRawBufferPointer(start: zmq_msg_data(&message), count: size)
            if count < frames.count {
                frames[count].removeAll(keepingCapacity: true)
                frames[count].append(contentsOf: bytes)
            } else {
                frames.append(Array(bytes))
            }
            count += 1
            if zmq_msg_more(&message) == 0 {
                if frames.count > count { frames.removeLast(frames.count - count) }
                return true
            }
        }
    }
}
