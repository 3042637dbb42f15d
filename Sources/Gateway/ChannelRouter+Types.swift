import Authorization
import HTTPServer
import JupyterProtocol

extension ChannelRouter {
    /// Identifies one WebSocket connection (the gateway numbers them at the upgrade; never reused).
    package typealias ConnectionID = UInt64

    /// The router's name for a session: where it is stored, and a serial number given when the session is created
    /// and never reused, so a pending request can only ever route to the session that sent it (not to a later
    /// session in the same slot or with the same key).
    package struct SessionHandle: Hashable, Sendable, CustomStringConvertible {
        package let slot: Int
        package let serial: UInt64
        package var description: String { "session#\(serial)@\(slot)" }
    }

    /// Limits in force. The defaults are the gateway's (docs/operations.md).
    package struct Configuration: Sendable, Equatable {
        /// Replay buffer of a parked session, in bytes; 0 turns parking off (a closed session is forgotten).
        package var replayBufferBytes: Int
        /// Requests of one session waiting for replies; more get `TooManyRequests`.
        package var maxOutstandingPerSession: Int
        /// Parked sessions kept per kernel; beyond it the oldest parked are forgotten.
        package var maxParkedSessions: Int
        /// How long a parked session is kept, in nanoseconds of the monotonic clock.
        package var parkedSessionTTL: UInt64
        /// What a reader (a user below execute on the kernel) may send: message size and rate per connection.
        package var readerLimits: ReaderLimits

        package init(replayBufferBytes: Int = 4 << 20, maxOutstandingPerSession: Int = 10_000,
                     maxParkedSessions: Int = 64, parkedSessionTTL: UInt64 = 600 * 1_000_000_000,
                     readerLimits: ReaderLimits = ReaderLimits()) {
            self.replayBufferBytes = replayBufferBytes
            self.maxOutstandingPerSession = maxOutstandingPerSession
            self.maxParkedSessions = maxParkedSessions
            self.parkedSessionTTL = parkedSessionTTL
            self.readerLimits = readerLimits
        }
    }

    /// Per-kernel counters, read by metrics.
    package struct Counters: Sendable, Equatable {
        /// Client messages that reached the permission check (allowed or denied), by `Channel.index`.
        package var inbound: [Int] = [0, 0, 0, 0, 0]
        /// Kernel messages routed (replies to a pending request; every iopub message), by `Channel.index`.
        package var outbound: [Int] = [0, 0, 0, 0, 0]
        package var denied = 0
        package var malformed = 0
        package var queueFull = 0
        package var unroutable = 0
        package var replayed = 0
        package var replayDropped = 0
        /// Channel denials by the level the message needed (read, execute, owner).
        package var deniedByRequirement: [String: Int] = [:]
        /// Readers' messages refused for their size or rate (`ReaderLimits`).
        package var readerLimited = 0
        /// Restarts announced to clients (`restarting` status), automatic or requested.
        package var restartsAnnounced = 0
        /// Bytes waiting in clients' outbound queues and in parked sessions' replay buffers (gauges, filled in
        /// by the owner's snapshot; the router knows only the second, `ChannelRouter.replayBufferedBytes`).
        package var outboundQueuedBytes = 0
        package var replayBufferedBytes = 0

        package init() {}
    }

    /// One client connection: who it is and which session it serves.
    struct Connection: Sendable {
        let id: ConnectionID
        /// Replaced on reload when the user's roles change.
        var identity: Identity
        /// The digest of the token that authenticated the upgrade (never the token); nil without authentication.
        /// A reload that no longer accepts it closes the connection.
        let tokenDigest: TokenDigest?
        /// The authenticated username, pre-escaped for stamping into every forwarded header.
        let usernameLiteral: JSONStringLiteral
        let sessionKey: SessionKey
        let session: SessionHandle
        let format: WebSocketSubprotocol
        /// The user's channel permissions on this kernel (level cached per access generation).
        var permissions: ChannelPermissionCache
        let remoteAddress: String?
    }

    /// One session as the router's queries show it: served by a connection, or parked (no connection, collecting
    /// a replay buffer). Stored as a `SessionState` and a `SessionRecord` in the same slot.
    struct Session: Sendable {
        let handle: SessionHandle
        let key: SessionKey
        let connectionID: ConnectionID?
        /// The format of the last connection; replay entries are stored in it.
        let format: WebSocketSubprotocol
        /// Kept only while parked.
        let replay: ReplayBuffer?
        /// Monotonic nanoseconds when it was parked.
        let parkedAt: UInt64
        /// The session's user's channel permissions, so a parked session collects output only while that user
        /// may still read the kernel.
        let permissions: ChannelPermissionCache
        /// Requests forwarded for this session and not answered yet: per session, not per connection, so
        /// reconnecting does not reset the bound.
        let outstanding: Int

        var isParked: Bool { connectionID == nil }
    }

    /// The part of a session slot every message reads or writes: plain values, copied without reference counting.
    struct SessionState: Sendable {
        /// The live session's `SessionHandle.serial`; 0 for a free slot.
        var serial: UInt64 = 0
        var connectionID: ConnectionID?
        var format: WebSocketSubprotocol = .legacy
        var outstanding = 0

        var isLive: Bool { serial != 0 }
        var isParked: Bool { serial != 0 && connectionID == nil }
    }

    /// The rest of a live session.
    struct SessionRecord: Sendable {
        let handle: SessionHandle
        let key: SessionKey
        var replay: ReplayBuffer?
        var parkedAt: UInt64 = 0
        var permissions: ChannelPermissionCache
    }

    /// A connection to send something to, in its format.
    package struct Recipient: Hashable, Sendable {
        package let id: ConnectionID
        package let format: WebSocketSubprotocol
    }

    /// A connection the owner must close, with the code and reason to send.
    package struct Closing: Hashable, Sendable {
        package let id: ConnectionID
        package let code: WebSocketCloseCode
        package let reason: String
    }

    /// What a parked session kept while its connection was gone, to send first on reconnect.
    package struct Replay: Sendable {
        /// Oldest first, in `storedFormat` (the owner converts when the new connection uses the other format).
        package let entries: ArraySlice<ReplayBuffer.Entry>
        /// Messages lost (buffer full, or queued to a connection closed for being too slow); the client gets a
        /// notice with this count before the entries.
        package let dropped: Int
        package let storedFormat: WebSocketSubprotocol
    }

    /// The answer to `connect`.
    package enum ConnectOutcome: Sendable {
        /// Close the new connection with this code and reason; nothing was recorded.
        case refused(Closing)
        /// The connection serves its session now. `replacing`: the same user's older connection for the
        /// session, to close. `replay`: what to send first (nil when nothing was kept).
        case accepted(replacing: Closing?, replay: Replay?)
    }

    /// The answer to `disconnect` and `deliveryFailed`.
    package enum DisconnectOutcome: Equatable, Sendable {
        /// Unknown connection, or one whose session another connection took over: nothing changed.
        case ignored
        /// The session waits for a reconnect with a replay buffer; `evicted` older parked sessions were
        /// forgotten to stay within `maxParkedSessions`.
        case parked(SessionHandle, evicted: Int)
        /// The session and its pending requests were forgotten.
        case forgotten
    }

    /// What was wrong with an undecodable client message (the owner decodes frames).
    package enum Malformed: Equatable, Sendable {
        /// The frame could not be decoded; `detail` is the decoder's message.
        case undecodable(String)
        /// `header.msg_type` or `header.msg_id` is absent.
        case missingTypeOrID
    }

    /// The answer to a client message.
    package enum InboundDecision: Sendable {
        /// Stamp `forward.username` into the header, send to the kernel, then report with `sendCompleted`.
        case forward(Forward)
        /// Answer the client with an error reply (see `Rejection`); nothing goes to the kernel.
        case reject(Rejection)
        /// The connection is unknown (already closed): drop the message.
        case ignore
    }

    /// A client message the router let through; hand it back to `sendCompleted` with the send result.
    package struct Forward: Sendable {
        package let connection: ConnectionID
        package let session: SessionHandle
        /// The request's `header.msg_id`: replies parented to it route to `session`.
        package let msgID: String
        /// `msg_type` ends in `_request` (spelled without escapes): a reply is due, so it is recorded as pending.
        package let expectsReply: Bool
        /// The authenticated username to stamp into `header.username`.
        package let username: JSONStringLiteral
    }

    /// Where a kernel message on shell, control or stdin goes.
    package enum ReplyRoute: Equatable, Sendable {
        /// Send to this connection (it serves the session that sent the request).
        case deliver(Recipient)
        /// The requesting session is parked: encode in `format` and hand it to `keep(_:for:)`.
        case park(SessionHandle, format: WebSocketSubprotocol)
        /// Nobody may have it (no pending request with that parent `msg_id`, or its session is gone).
        case drop
    }

    /// What the owner could not deliver to a connection that turned out too slow (its send failed).
    package enum Undelivered: Sendable {
        /// An iopub message: counted as dropped in the parked session (what was queued to the closed
        /// connection is lost with it). The message itself still reaches the parked session through
        /// `collectIOPub`, which the owner calls after the fan-out.
        case iopub
        /// A reply: kept in the parked session's replay buffer.
        case reply(ReplayBuffer.Entry)
    }
}
