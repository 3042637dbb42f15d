import CHTTPParser

/// Incremental HTTP/1.x request parser on top of the C `http_parser` (sans-I/O).
///
/// Feed it byte chunks exactly as they arrive from the socket, split anywhere; it returns the events
/// completed by that chunk, in order: complete requests (several when requests are pipelined), an
/// upgrade hand-off, or a failure. All HTTP syntax is decided by http_parser; this type only
/// collects the pieces, enforces `Limits`, and decodes the URL.
///
/// When the head of a request (request line and header fields) is complete, the optional `decideHead` closure
/// sees it (as an `HTTPRequest` with an empty body) before any body byte is taken: it may refuse the request
/// (`.rejected` event, the body is never read) or lower the body limit for it. `progress` tells the owner which
/// part of a request is being received, so that it can enforce deadlines on each.
///
/// Terminal states: after `.upgrade` the remaining bytes belong to the new protocol and the parser
/// ignores further input; after `.failure` the caller answers with `error.httpError` and closes; after
/// a request (or a `.rejected` head) whose `keepAlive` is false, bytes that follow are ignored (the
/// connection is closing).
///
/// Ownership and threading: a non-Sendable class owned by one connection and used on that
/// connection's event-loop thread only. It owns the C parser state and frees it in `deinit`.
public final class HTTPRequestParser {
    /// Size limits enforced while parsing. Exceeding one is a `.failure` whose code maps to the
    /// matching status (431, 413, 414).
    public struct Limits: Sendable, Equatable {
        /// Request target plus header names and values (4 bytes counted per field for the
        /// separators). http_parser also caps the raw head at 80 KiB on its own.
        public var maxHeaderBytes: Int
        /// Decoded body bytes; a larger `Content-Length` is refused before any body arrives.
        public var maxBodyBytes: Int
        /// Raw request-target bytes.
        public var maxURLLength: Int

        /// Creates limits; the defaults suit the Jupyter REST API (small JSON bodies).
        public init(maxHeaderBytes: Int = 64 * 1024, maxBodyBytes: Int = 1024 * 1024, maxURLLength: Int = 8 * 1024) {
            self.maxHeaderBytes = maxHeaderBytes
            self.maxBodyBytes = maxBodyBytes
            self.maxURLLength = maxURLLength
        }
    }

    /// Something a chunk of input completed.
    public enum Event: Sendable, Equatable {
        /// A complete request. Answer requests in the order they were reported.
        case request(HTTPRequest)
        /// A complete upgrade request (e.g. WebSocket). `remainder` holds the bytes that followed the
        /// request in the same chunk; they belong to the new protocol. The parser is finished.
        case upgrade(HTTPRequest, remainder: [UInt8])
        /// The input is not acceptable HTTP or exceeds a limit. The parser is finished.
        case failure(HTTPParseError)
        /// `decideHead` refused the request (its head, body empty) with `response`. When the request
        /// declared a body, the body is not read, `request.keepAlive` is false and the parser is finished;
        /// otherwise parsing goes on with the next request.
        case rejected(HTTPRequest, response: HTTPResponse)
    }

    /// Which part of a request the parser is receiving.
    public enum Stage: Sendable, Equatable {
        /// Between requests: no byte of the next one has arrived.
        case waiting
        /// The request line and header fields (from the first byte of the request, blank lines included).
        case head
        /// The body of a request whose head is complete.
        case body
    }

    /// Where the parser stands in the request stream: the stage, and how many requests were begun so far
    /// (so a new request's head is told apart from the previous one's).
    public struct Progress: Sendable, Equatable {
        /// The part being received.
        public var stage: Stage
        /// Requests begun since the parser was created (the current one included).
        public var request: Int

        /// Creates a progress value (for tests and for code that tracks deadlines).
        public init(stage: Stage, request: Int) {
            self.stage = stage
            self.request = request
        }
    }

    /// Where the parser stands.
    public enum State: Sendable, Equatable {
        /// Accepting input.
        case parsing
        /// An upgrade request was reported; further input is ignored.
        case upgraded
        /// A request with `keepAlive == false` was reported; further input is ignored.
        case closed
        /// A failure was reported; further input is ignored.
        case failed
    }

    /// The limits this parser enforces.
    public let limits: Limits
    /// The current state.
    public private(set) var state: State = .parsing
    /// The part of a request being received.
    public internal(set) var progress = Progress(stage: .waiting, request: 0)
    /// Sees each request head before its body is read (see the type's documentation).
    let decideHead: ((HTTPRequest) -> HTTPHeadDecision)?

    private let parser: UnsafeMutablePointer<http_parser>
    private let settings: UnsafeMutablePointer<http_parser_settings>

    // Per-message accumulation, written by the C callbacks (see HTTPRequestParser+Callbacks.swift).
    var url: [UInt8] = []
    var fieldName: [UInt8] = []
    var fieldValue: [UInt8] = []
    var fieldValueStarted = false
    var headers = HTTPHeaders()
    var headersComplete = false
    var headerBytes = 0
    var body: [UInt8] = []
    /// The current request as built from its head; the body is added when the message completes.
    var head: HTTPRequest?
    /// The body bound of the current request (`limits.maxBodyBytes` or lower, from `decideHead`).
    var bodyLimit = 0
    /// The response `decideHead` chose for the current (bodyless) request, reported when it completes.
    var rejection: HTTPResponse?
    /// Events produced by callbacks during the current `feed`.
    var pending: [Event] = []
    /// Set by a callback that aborts parsing; takes precedence over http_parser's own errno.
    var callbackError: HTTPParseError?
    /// Set (with http_parser paused) when the connection must not carry another request: a completed request
    /// without keep-alive, or a head refused while its body is still to come.
    var stopRequested = false

    /// Creates a parser for requests. `decideHead` runs synchronously inside `feed`, on the caller's thread.
    public init(limits: Limits = Limits(), decideHead: ((HTTPRequest) -> HTTPHeadDecision)? = nil) {
        self.limits = limits
        self.decideHead = decideHead
        bodyLimit = limits.maxBodyBytes
        parser = UnsafeMutablePointer<http_parser>.allocate(capacity: 1)
        settings = UnsafeMutablePointer<http_parser_settings>.allocate(capacity: 1)
        http_parser_init(parser, HTTP_REQUEST)
        http_parser_settings_init(settings)
        Self.installCallbacks(settings)
        // Unretained: the parser struct is owned by self and freed in deinit, so it can never
        // outlive the object the pointer refers to.
        parser.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        parser.deallocate()
        settings.deallocate()
    }

    /// Parses the next chunk and returns the events it completed (possibly none).
    ///
    /// Input after a terminal event is ignored. An empty chunk is a no-op (use `finish()` for EOF).
    public func feed(_ bytes: UnsafeRawBufferPointer) -> [Event] {
        guard state == .parsing, let base = bytes.baseAddress, bytes.count > 0 else { return [] }
        // Any byte starts the head clock, even blank lines http_parser skips before a request line.
        if progress.stage == .waiting { beginStage(.head, newRequest: true) }
        let count = bytes.count
        let consumed = base.withMemoryRebound(to: CChar.self, capacity: count) { chars in
            http_parser_execute(parser, settings, chars, count)
        }
        var events = takePending()
        let errno = parser.pointee.http_errno
        if let error = callbackError {
            events.append(.failure(error))
            state = .failed
        } else if errno == HPE_PAUSED.rawValue && stopRequested {
            state = .closed
        } else if errno != HPE_OK.rawValue {
            events.append(.failure(Self.error(forErrno: errno)))
            state = .failed
        } else if parser.pointee.upgrade == 1 {
            state = .upgraded
            let start = min(consumed, count)
            let remainder = Array(UnsafeRawBufferPointer(rebasing: bytes[start...]))
            if case .upgrade(let request, _)? = events.last {
                events[events.count - 1] = .upgrade(request, remainder: remainder)
            } else {
                // Upgrade flag without a completed request cannot happen with http_parser 2.9;
                // treat it as malformed rather than trusting it.
                events.append(.failure(HTTPParseError(.badRequest, detail: "incomplete upgrade request")))
                state = .failed
            }
        }
        return events
    }

    /// Parses the next chunk given as an array.
    public func feed(_ bytes: [UInt8]) -> [Event] {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// Signals end of input (the peer closed its sending side). Returns a `.failure` when a request
    /// was cut off mid-way; otherwise no events.
    public func finish() -> [Event] {
        guard state == .parsing else { return [] }
        _ = http_parser_execute(parser, settings, nil, 0)
        var events = takePending()
        let errno = parser.pointee.http_errno
        if let error = callbackError {
            events.append(.failure(error))
            state = .failed
        } else if errno != HPE_OK.rawValue && errno != HPE_PAUSED.rawValue {
            events.append(.failure(Self.error(forErrno: errno)))
            state = .failed
        } else {
            state = .closed
        }
        return events
    }

    /// Moves to `stage`; `newRequest` counts a request begun.
    func beginStage(_ stage: Stage, newRequest: Bool = false) {
        progress.stage = stage
        if newRequest { progress.request += 1 }
    }

    private func takePending() -> [Event] {
        let events = pending
        pending.removeAll(keepingCapacity: true)
        return events
    }

    /// Maps an http_parser errno to our error: header overflow is 431, everything else 400 with
    /// the parser's error name as detail.
    static func error(forErrno errno: UInt32) -> HTTPParseError {
        let name = String(cString: http_errno_name(http_errno(rawValue: errno)))
        if errno == HPE_HEADER_OVERFLOW.rawValue {
            return HTTPParseError(.headersTooLarge, detail: name)
        }
        return HTTPParseError(.badRequest, detail: name)
    }
}
