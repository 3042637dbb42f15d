import CZeroMQ
import JupyterProtocol
import ZeroMQ

/// The gateway's side of one kernel's five ZeroMQ sockets: shell, control and stdin DEALERs (shell and stdin
/// share one routing identity, because the kernel sends `input_request` to the shell requester's identity), an
/// iopub SUB subscribed to everything, and a heartbeat REQ.
///
/// Not Sendable: owned by exactly one `Kernel` actor. Sockets stay connected across kernel restarts (the ports do
/// not change), and ZeroMQ reconnects by itself.
final class KernelSockets {
    let shell: ZMQSocket
    let control: ZMQSocket
    let stdin: ZMQSocket
    let iopub: ZMQSocket
    let heartbeat: ZMQSocket

    init(context: ZMQContext, info: ConnectionInfo, identity: [UInt8]) throws {
        shell = try ZMQSocket(context: context, type: .dealer)
        control = try ZMQSocket(context: context, type: .dealer)
        stdin = try ZMQSocket(context: context, type: .dealer)
        iopub = try ZMQSocket(context: context, type: .sub)
        heartbeat = try ZMQSocket(context: context, type: .req)
        do {
            try shell.setIdentity(identity)
            try stdin.setIdentity(identity)
            try iopub.subscribeAll()
            // A REQ that lost a reply must still be able to ping again.
            try heartbeat.setOption(ZMQ_REQ_RELAXED, 1)
            try heartbeat.setOption(ZMQ_REQ_CORRELATE, 1)
            // Bounded queues towards a kernel that stops reading: sends fail with EAGAIN instead of growing.
            for socket in [shell, control, stdin] {
                try socket.setOption(ZMQ_SNDHWM, 10_000)
                try socket.setOption(ZMQ_IMMEDIATE, 0)
            }
            try iopub.setOption(ZMQ_RCVHWM, 100_000)
            // The sockets connect before the kernel has bound its ports; libzmq's default 100 ms reconnect interval
            // then adds 100-200 ms to every kernel start (measured with gateway-bench load --mode start). The
            // back-off is capped at 10 ms: with the default doubling, a kernel that binds a few ms late (bubblewrap
            // adds ~5 ms) waited for the attempt at ~41 ms instead of ~19 ms (BENCHMARKS.md section 4). While a
            // kernel is down this costs one failed connect per socket every 10 ms.
            for socket in [shell, control, stdin, iopub, heartbeat] {
                try socket.setOption(ZMQ_RECONNECT_IVL, 5)
                try socket.setOption(ZMQ_RECONNECT_IVL_MAX, 10)
            }
            try shell.connect(info.endpoint(for: .shell))
            try control.connect(info.endpoint(for: .control))
            try stdin.connect(info.endpoint(for: .stdin))
            try iopub.connect(info.endpoint(for: .iopub))
            try heartbeat.connect(info.endpoint(for: .hb))
        } catch {
            close()
            throw error
        }
    }

    /// The socket for a channel the gateway sends on or receives from.
    func socket(for channel: Channel) -> ZMQSocket {
        switch channel {
        case .shell: shell
        case .control: control
        case .stdin: stdin
        case .iopub: iopub
        case .hb: heartbeat
        }
    }

    func close() {
        for socket in [shell, control, stdin, iopub, heartbeat] { socket.close() }
    }
}

