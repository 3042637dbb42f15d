import CZeroMQ
import Glibc
import JupyterProtocol

/// One kernel-side ZeroMQ socket over the libzmq C API, owned by the kernel's single thread.
///
/// Everything is non-blocking (`ZMQ_DONTWAIT`); the kernel waits in `zmq_poll` on `handle`.
final class KernelSocket {
    /// Why a send did not go out.
    enum SendFailure: Error {
        /// High-water mark reached (only possible on the iopub XPUB with `XPUB_NODROP`).
        case wouldBlock
        /// ROUTER with `ROUTER_MANDATORY`: no peer with that routing identity.
        case unreachable
        /// Any other libzmq error (errno).
        case failed(Int32)
    }

    /// The raw socket, for `zmq_pollitem_t`.
    let handle: UnsafeMutableRawPointer
    /// Which channel this socket serves (logging, `%received`).
    let channel: Channel
    private let message: UnsafeMutablePointer<zmq_msg_t>

    init(context: UnsafeMutableRawPointer, type: Int32, channel: Channel) throws(EchoKernelError) {
        guard let socket = zmq_socket(context, type) else {
            throw EchoKernelError("zmq_socket(\(channel)): \(KernelSocket.lastError())")
        }
        handle = socket
        self.channel = channel
        message = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        zmq_msg_init(message)
        setOption(ZMQ_LINGER, 0)
    }

    deinit {
        zmq_msg_close(message)
        message.deallocate()
    }

    static func lastError() -> String { String(cString: zmq_strerror(zmq_errno())) }

    /// Sets an integer option; failures are logged (options here are tuning, not correctness).
    func setOption(_ option: Int32, _ value: Int32) {
        var v = value
        if zmq_setsockopt(handle, option, &v, MemoryLayout<Int32>.size) != 0 {
            Log.message("zmq_setsockopt(\(channel), \(option)) failed: \(KernelSocket.lastError())")
        }
    }

    func bind(_ endpoint: String) throws(EchoKernelError) {
        guard zmq_bind(handle, endpoint) == 0 else {
            throw EchoKernelError("cannot bind \(channel) to \(endpoint): \(KernelSocket.lastError())")
        }
    }

    /// Receives one whole multipart message into `buffer` (reset first). Returns false when none is waiting
    /// (or on an error, which is logged).
    func receive(into buffer: FrameBuffer) -> Bool {
        buffer.reset()
        while true {
            let rc = zmq_msg_recv(message, handle, ZMQ_DONTWAIT)
            if rc < 0 {
                let code = zmq_errno()
                if code == EINTR { continue }
                if code != EAGAIN { Log.message("zmq_msg_recv(\(channel)) failed: \(KernelSocket.lastError())") }
                if buffer.frameCount > 0 { Log.message("\(channel): dropped a partial multipart message") }
                buffer.reset()
                return false
            }
            buffer.append(UnsafeRawBufferPointer(start: zmq_msg_data(message), count: zmq_msg_size(message)))
            if zmq_msg_more(message) == 0 { return true }
        }
    }

    /// Sends one frame without blocking. A ROUTER without `ROUTER_MANDATORY` drops unroutable messages
    /// silently, so `.unreachable` / `.wouldBlock` only come from the sockets configured for them.
    @inline(__always)
    func send(_ frame: UnsafeRawBufferPointer, more: Bool) throws(SendFailure) {
        let flags = ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)
        while zmq_send(handle, frame.baseAddress, frame.count, flags) < 0 {
            let code = zmq_errno()
            switch code {
            case EINTR: continue
            case EAGAIN: throw .wouldBlock
            case EHOSTUNREACH: throw .unreachable
            default: throw .failed(code)
            }
        }
    }

    /// Heartbeat: echoes every waiting request back unchanged (REP socket). A REP socket only accepts the
    /// reply once the whole request is read, hence the buffer.
    func echoAll(using buffer: FrameBuffer) {
        while receive(into: buffer) {
            do throws(SendFailure) {
                for i in 0..<buffer.frameCount { try send(buffer.frame(i), more: i + 1 < buffer.frameCount) }
            } catch {
                Log.message("heartbeat echo failed: \(error)")
                return
            }
        }
    }

    /// Closes the socket, letting pending output drain for up to `lingerMilliseconds`.
    func close(lingerMilliseconds: Int32) {
        setOption(ZMQ_LINGER, lingerMilliseconds)
        zmq_close(handle)
    }
}
