/// The input deadlines of one HTTP connection, as a pure state machine (no clock, no timers): the connection
/// reports the parser's progress, finished responses and paused reading, with the time; it asks what expired and
/// when to look again.
///
/// - Between requests, while nothing is being answered, the peer may stay silent for `idle`.
/// - A request's head must be complete within `head` of its first byte.
/// - Its body must be complete within `body` of the end of the head.
///
/// While the server itself stops reading (`pause`), no head or body clock runs; `resume` restarts it, so a peer is
/// never timed out for bytes the server did not take.
///
/// One timer per connection suffices and is never cancelled: `nextCheck` is at most the shortest timeout away, and
/// every deadline a later event creates is at least that far away, so the timer is never armed too late.
struct ReceiveDeadlines: Equatable {
    /// Timeouts in nanoseconds.
    struct Timeouts: Equatable {
        var idle: UInt64
        var head: UInt64
        var body: UInt64

        init(idle: Duration, head: Duration, body: Duration) {
            self.idle = Self.nanoseconds(idle)
            self.head = Self.nanoseconds(head)
            self.body = Self.nanoseconds(body)
        }

        private static func nanoseconds(_ duration: Duration) -> UInt64 {
            // At least 1 ms: a zero timeout would make the connection's timer spin.
            UInt64(max(duration.nanoseconds, 1_000_000))
        }
    }

    /// Which deadline passed.
    enum Expiry: Equatable {
        case idle, head, body
    }

    let timeouts: Timeouts
    private var progress = HTTPRequestParser.Progress(stage: .waiting, request: 0)
    /// When the current head or body clock started.
    private var since: UInt64
    /// When the connection last finished a response (or was opened).
    private var idleSince: UInt64
    private var paused = false
    /// Whether a request of this connection has passed the head check (`admitted`). Until then the connection is
    /// anonymous, and its silence between requests is bounded by the head timeout, not the idle timeout: otherwise
    /// a connection that never authenticates could be held open for the idle timeout, over and over.
    private var trusted = false

    init(timeouts: Timeouts, now: UInt64) {
        self.timeouts = timeouts
        since = now
        idleSince = now
    }

    /// The parser's progress after input arrived; a new stage (or a new request) starts its clock.
    mutating func observe(_ progress: HTTPRequestParser.Progress, now: UInt64) {
        guard progress != self.progress else { return }
        self.progress = progress
        since = now
    }

    /// A request passed the head check and was dispatched: from now on the idle timeout applies between requests.
    mutating func admitted() {
        trusted = true
    }

    /// A response was written: the idle clock starts again.
    mutating func responded(now: UInt64) {
        idleSince = now
    }

    /// The server stopped reading from the peer.
    mutating func pause() {
        paused = true
    }

    /// The server reads again: a head or body clock in progress restarts.
    mutating func resume(now: UInt64) {
        guard paused else { return }
        paused = false
        since = now
    }

    /// The moment the current stage expires, or nil when none applies. `answering`: a request is being answered
    /// or waits to be (the connection is not idle then).
    func deadline(answering: Bool) -> UInt64? {
        switch progress.stage {
        case .waiting: answering ? nil : idleSince &+ (trusted ? timeouts.idle : timeouts.head)
        case .head: paused ? nil : since &+ timeouts.head
        case .body: paused ? nil : since &+ timeouts.body
        }
    }

    /// What expired at `now`, if anything.
    func expired(now: UInt64, answering: Bool) -> Expiry? {
        guard let deadline = deadline(answering: answering), now >= deadline else { return nil }
        switch progress.stage {
        case .waiting: return .idle
        case .head: return .head
        case .body: return .body
        }
    }

    /// When the connection's timer should fire next: the current deadline, but no later than the shortest timeout
    /// from now (see the type's documentation).
    func nextCheck(now: UInt64, answering: Bool) -> UInt64 {
        let tick = now &+ min(timeouts.idle, timeouts.head, timeouts.body)
        guard let deadline = deadline(answering: answering) else { return tick }
        return min(max(deadline, now), tick)
    }
}
