import EventLoop
import JupyterProtocol
import Synchronization

/// The state of one fan-out (or liveness) round, shared by every observing client across loops.
final class RoundState: Sendable {
    /// The sequence number of the round's request in the executor's msg_id space (UInt64.max: no round).
    let round = Atomic<UInt64>(UInt64.max)
    let sentAt = Atomic<UInt64>(0)
    let seen = Atomic<Int>(0)
    let firstSeenAt = Atomic<UInt64>(UInt64.max)
    let lastSeenAt = Atomic<UInt64>(0)
    let executorReplied = Atomic<Bool>(false)
    let executorIdle = Atomic<Bool>(false)

    /// Resets the counters for round `seq` (call before the executor sends).
    func reset(_ seq: UInt64) {
        seen.store(0, ordering: .relaxed)
        firstSeenAt.store(UInt64.max, ordering: .relaxed)
        lastSeenAt.store(0, ordering: .relaxed)
        executorReplied.store(false, ordering: .relaxed)
        executorIdle.store(false, ordering: .relaxed)
        round.store(seq, ordering: .sequentiallyConsistent)
    }
}

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
    private let wire: WireProtocol
    private let executorPrefix: [UInt8]
    private var encoder: RequestEncoder
    private var lastSeenRound = UInt64.max
    private(set) var lastError: String?
    private var didOpen = false

    init(index: Int, loop: EventLoop, url: GatewayURL, kernelID: String, token: String?, wire: WireProtocol,
         control: RunControl, state: RoundState, target: Target, executorSession: String, session: String,
         tally: StreamTally? = nil) {
        self.index = index
        self.control = control
        self.state = state
        self.target = target
        self.wire = wire
        self.tally = tally
        executorPrefix = Array("\(executorSession)-".utf8)
        encoder = RequestEncoder(prefix: "\(session)-", session: session, wire: wire)
        socket = BenchWebSocket(loop: loop, url: url, path: url.path("api/kernels/\(kernelID)/channels?session_id=\(session)"),
                                token: token, subprotocol: wire == .v1 ? V1WebSocketCodec.subprotocol : nil)
        socket.delegate = self
    }

    /// Executor only: sends `msgType` with `content` as round `seq` (the caller reset `state`). Loop thread.
    func send(msgType: StaticString, content: [UInt8], seq: UInt64) {
        state.sentAt.store(Monotonic.now, ordering: .relaxed)
        encoder.encode(msgType: msgType, content: content, seq: seq) { frame, text in
            if text { socket.queueText(frame) } else { socket.queueBinary(frame) }
        }
        control.wsSent.wrappingAdd(1, ordering: .relaxed)
        socket.flush()
    }

    func webSocketDidOpen(_ socket: BenchWebSocket, subprotocol: String?) {
        if wire == .v1 && subprotocol != V1WebSocketCodec.subprotocol {
            lastError = "server did not accept the v1 subprotocol"
            socket.abort()
            return
        }
        didOpen = true
        control.opened.wrappingAdd(1, ordering: .relaxed)
    }

    func webSocket(_ socket: BenchWebSocket, didReceive payload: UnsafeRawBufferPointer, text: Bool) {
        control.wsReceived.wrappingAdd(1, ordering: .relaxed)
        let message: InboundMessage
        do { message = try InboundMessage(frame: payload, text: text, wire: wire) } catch {
            lastError = "undecodable message: \(error)"
            control.errors.wrappingAdd(1, ordering: .relaxed)
            return
        }
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
            if !message.contentString("status", is: "ok") {
                lastError = "reply status is not ok"
                control.errors.wrappingAdd(1, ordering: .relaxed)
            }
            state.executorReplied.store(true, ordering: .sequentiallyConsistent)
        }
    }

    func webSocketDidClose(_ socket: BenchWebSocket, error: String?) {
        guard let error else { return }
        if lastError == nil { lastError = error }
        if didOpen { control.errors.wrappingAdd(1, ordering: .relaxed) } else {
            control.failedToOpen.wrappingAdd(1, ordering: .relaxed)
        }
    }
}

/// Stream-mode bookkeeping of one client: which `%stream` sequence numbers arrived, duplicates, reordering.
final class StreamTally: Sendable {
    struct Counts: Sendable {
        var seen: [Bool]
        var received = 0
        var duplicates = 0
        var outOfOrder = 0
        var malformed = 0
        var last = -1
    }

    let counts: Mutex<Counts>

    init(expected: Int) {
        counts = Mutex(Counts(seen: [Bool](repeating: false, count: expected)))
    }

    /// Records one `stream` message whose text starts with `<seq>:`.
    func record(_ message: InboundMessage) {
        guard let range = message.contentMember("text"), range.count > 2 else {
            counts.withLock { $0.malformed += 1 }
            return
        }
        var value = 0
        var i = range.lowerBound + 1
        var digits = 0
        while i < range.upperBound - 1 {
            let d = message.frame[i] &- UInt8(ascii: "0")
            if d >= 10 { break }
            value = value &* 10 &+ Int(d)
            digits += 1
            i += 1
        }
        let valid = digits > 0 && i < range.upperBound - 1 && message.frame[i] == UInt8(ascii: ":")
        counts.withLock { c in
            guard valid, value < c.seen.count else {
                c.malformed += 1
                return
            }
            c.received += 1
            if c.seen[value] { c.duplicates += 1 } else { c.seen[value] = true }
            if value < c.last { c.outOfOrder += 1 }
            c.last = value
        }
    }

    /// Sequence numbers never received.
    var missing: Int { counts.withLock { c in c.seen.reduce(0) { $0 + ($1 ? 0 : 1) } } }
}
