import CZeroMQ
import Glibc

/// A ZeroMQ context (thread-safe by libzmq's contract). Owns the I/O threads; terminate it after closing every
/// socket made from it.
public final class ZMQContext: @unchecked Sendable {
    // @unchecked Sendable, audited: a zmq context is documented thread-safe; the pointer is immutable.
    let handle: UnsafeMutableRawPointer

    /// - Parameter ioThreads: libzmq I/O threads (1 is plenty for loopback traffic).
    public init(ioThreads: Int32 = 1) throws {
        guard let ctx = zmq_ctx_new() else { throw ZMQError("zmq_ctx_new") }
        zmq_ctx_set(ctx, ZMQ_IO_THREADS, ioThreads)
        zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 65_536)
        handle = ctx
    }

    deinit {
        zmq_ctx_term(handle)
    }
}

/// A libzmq failure: the operation and `zmq_errno()`.
public struct ZMQError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let code: Int32

    public init(_ operation: String, code: Int32 = zmq_errno()) {
        self.operation = operation
        self.code = code
    }

    public var description: String {
        "\(operation) failed: \(String(cString: zmq_strerror(code))) (errno \(code))"
    }
}
