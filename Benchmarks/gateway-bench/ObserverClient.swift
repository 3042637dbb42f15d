import EventLoop
import JupyterProtocol

/// A client that watches iopub for the output of the executor's current round (`fanout`, `connections` and
/// `stream` modes); client 0 of a run is also the executor that sends the requests.
///
/// `target` decides what counts as "seen": the first output message (`stream`, `execute_result`,
/// `display_data`) or the `status: idle` of the round's request. In `stream` mode every stream message is also
/// checked by sequence number (`StreamTally`).
///
/// Loop-bound: after `init`, used only on `socket.loop`'s thread.
final class ObserverClient: BenchWebSocketDelegate, @unchecked Sendable {
    // @unchecked Sendable, audited: mutable state is touched only on `socket.loop`'s thread; cross-thread results
    // go through `RoundState` and `RunControl` (atomics) and `tally` (read after the run, behind a mutex).
    enum Target {
        case output
        case idle
    }

    let index: Int
    let socket: BenchWebSocket
    let control: RunControl
    let state: RoundState
    let target: Target
    let tally: StreamTally?
    private var link: ChannelLink
    private let executorPrefix: [UInt8]
    private var encoder: RequestEncoder
    private var lastSeenRound = UInt64.max

    init(index: Int, loop: EventLoop, url: GatewayURL, kernelID: String, token: String?, wire: WireProtocol,
         control: RunControl, state: RoundState, target: Target, executorSession: String, session: String,
         tally: StreamTally? = nil) {
        self.index = index
        self.control = control
        self.state = state
        self.target = target
        self.tally = tally
        link = ChannelLink(wire: wire, control: control)
        executorPrefix = Array("\(executorSession)-".utf8)
        encoder = RequestEncoder(prefix: "\(session)-", session: session, wire: wire)
        socket = BenchWebSocket(loop: loop, url: url, kernelID: kernelID, session: session, token: token, wire: wire)
        socket.delegate = self
    }

    /// The latest error, if any. Loop thread.
    var lastError: String? { link.lastError }

    /// Executor only: sends `msgType` with `content` as round `seq` (the caller reset `state`). Loop thread.
    func send(msgType: StaticString, content: [UInt8], seq: UInt64) {
        state.sentAt.store(Monotonic.now, ordering: .relaxed)
        encoder.encode(msgType: msgType, content: content, seq: seq) { frame, text in
            if text { socket.queueText(frame) } else { socket.queueBinary(frame) }
        }
        control.wsSent.wrappingAdd(1, ordering: .relaxed)
        socket.flush()
    }

    // MARK: - BenchWebSocketDelegate

    func webSocketDidOpen(_ socket: BenchWebSocket, subprotocol: String?) {
        if !link.opened(subprotocol: subprotocol) { socket.abort() }
    }

    func webSocket(_ socket: BenchWebSocket, didReceive payload: UnsafeRawBufferPointer, text: Bool) {
        guard let message = link.receive(payload, text: text) else { return }
        guard let seq = message.parentSequence(prefix: executorPrefix) else { return }
        let round = state.round.load(ordering: .relaxed)
        if message.channel == .iopub {
            if let tally, message.isType("stream") { tally.record(message) }
            let isIdle = message.isType("status") && message.contentString("execution_state", is: "idle")
            let isOutput = message.isType("stream") || message.isType("execute_result") || message.isType("display_data")
            if seq == round && lastSeenRound != round && (target == .idle ? isIdle : isOutput) {
                lastSeenRound = round
                let now = Monotonic.now
                state.lastSeenAt.storeMax(now)
                state.firstSeenAt.storeMin(now)
                state.seen.wrappingAdd(1, ordering: .sequentiallyConsistent)
            }
            if index == 0 && isIdle && seq == round { state.executorIdle.store(true, ordering: .sequentiallyConsistent) }
        } else if message.channel == .shell && message.isReply && index == 0 && seq == round {
            if !message.contentString("status", is: "ok") { link.fail("reply status is not ok") }
            state.executorReplied.store(true, ordering: .sequentiallyConsistent)
        }
    }

    func webSocketDidClose(_ socket: BenchWebSocket, error: String?) {
        link.closed(error: error, lostRequests: { 0 })
    }
}
