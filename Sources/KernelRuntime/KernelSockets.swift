import EventLoop
import JupyterProtocol
import ZMTP

/// The gateway's side of one kernel's five channels, spoken as ZMTP by the gateway itself on the kernel's loop
/// (no libzmq I/O thread): shell, control and stdin DEALERs (shell and stdin share one routing identity, because
/// the kernel sends `input_request` to the shell requester's identity), an iopub SUB subscribed to everything, and
/// a heartbeat REQ. Every complete inbound message is handed to `onMessage` with its channel, on the loop thread.
///
/// Not Sendable: owned by exactly one `Kernel` actor. Sockets stay connected across kernel restarts (the ports and
/// ipc paths do not change) and reconnect by themselves; messages sent while a kernel is not yet (or no longer)
/// connected wait in a bounded queue, as with libzmq's `ZMQ_IMMEDIATE=0`.
final class KernelSockets {
    let shell: ZMTPSocket
    let control: ZMTPSocket
    let stdin: ZMTPSocket
    let iopub: ZMTPSocket
    let heartbeat: ZMTPSocket

    /// Creates the sockets and starts connecting them. Loop thread.
    /// - Throws: `ZMTPEndpoint.ParseError` for an endpoint the connection info cannot express.
    /// - Parameter expectedPeerUID: for ipc channels, the uid whose sockets these must be (the kernel's account):
    ///   a kernel can replace its socket files with links to somebody else's, and the gateway then refuses them.
    init(loop: EventLoop, info: ConnectionInfo, identity: [UInt8], expectedPeerUID: UInt32? = nil,
         onMessage: @escaping (Channel, [[UInt8]]) -> Void) throws {
        // Sends beyond 10,000 queued messages towards a kernel that stops reading fail (`queueFull`) instead of
        // growing. Reconnects every 5-10 ms: sockets connect before the kernel has bound (a 100 ms interval added
        // 100-200 ms to every start; BENCHMARKS.md section 4); while a kernel is down that costs one failed connect
        // per socket every 10 ms.
        // What a kernel may make the gateway hold per socket (a message half sent and never finished stays held):
        // shell and iopub carry outputs and buffers (256 MiB, the ZMTP default); control and stdin carry small
        // replies (16 MiB); the heartbeat echoes "ping" (1 KiB), and never queues more than one ping.
        func socket(_ channel: Channel, _ type: ZMTPSocketType, identity: [UInt8] = []) throws -> ZMTPSocket {
            let maxMessageBytes = switch channel {
            case .shell, .iopub: 256 << 20
            case .control, .stdin: 16 << 20
            case .hb: 1 << 10
            }
            let options = ZMTPSocket.Options(reconnectInterval: .milliseconds(5), reconnectIntervalMax: .milliseconds(10),
                                             sendHighWaterMark: channel == .hb ? 1 : 10_000,
                                             limits: ZMTPLimits(maxMessageBytes: maxMessageBytes),
                                             expectedPeerUID: expectedPeerUID)
            return try ZMTPSocket(loop: loop, type: type, endpoint: info.endpoint(for: channel), identity: identity,
                                  options: options) { frames in onMessage(channel, frames) }
        }
        shell = try socket(.shell, .dealer, identity: identity)
        control = try socket(.control, .dealer)
        stdin = try socket(.stdin, .dealer, identity: identity)
        iopub = try socket(.iopub, .sub)
        heartbeat = try socket(.hb, .req)
        for socket in [shell, control, stdin, iopub, heartbeat] { socket.connect() }
    }

    /// The socket for a channel the gateway sends on or receives from.
    func socket(for channel: Channel) -> ZMTPSocket {
        switch channel {
        case .shell: shell
        case .control: control
        case .stdin: stdin
        case .iopub: iopub
        case .hb: heartbeat
        }
    }

    /// Closes all five (idempotent). Loop thread.
    func close() {
        for socket in [shell, control, stdin, iopub, heartbeat] { socket.close() }
    }
}
