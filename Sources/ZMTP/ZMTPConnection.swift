/// The client side of one ZMTP 3.0 connection with the NULL mechanism, as a pure state machine: events in
/// (connected, bytes received), actions out (bytes to send, handshake complete, message to deliver, protocol
/// error). No I/O, no clock: `ZMTPSocket` executes the actions and owns timeouts and reconnection.
///
/// Rules:
/// - On `connected` we send our whole greeting (3.0, NULL, as-server 0). The peer's greeting is checked byte by
///   byte as it arrives; once all 64 bytes are in we send READY (`Socket-Type`, plus `Identity` for DEALER/REQ).
/// - The first thing after the peer's greeting must be its READY with a compatible `Socket-Type`; an ERROR, any
///   other command or a message before it is a protocol error.
/// - Ready: a SUB first sends its subscribe-to-everything message (frame 0x01). Messages are delivered as they
///   complete; a REQ's reply must start with an empty delimiter, which is stripped (replies without one are
///   dropped, like libzmq). PING is answered with PONG echoing its context; PONG and unknown commands are
///   ignored; ERROR or a second READY end the connection.
/// - After a failure every further input is ignored; the owner drops the connection and starts a new one.
public struct ZMTPConnection {
    public enum Phase: Equatable, Sendable {
        /// Not connected yet (`connected()` not called).
        case idle
        /// Our greeting is out; collecting the peer's.
        case greeting
        /// Greetings exchanged, our READY is out; waiting for the peer's READY.
        case handshake
        /// Messages flow.
        case ready
        /// A protocol error happened; the connection must be dropped.
        case failed
    }

    public enum Action: Equatable, Sendable {
        /// Write these bytes (greeting, READY, subscription, PONG) before any further message, at a message
        /// boundary of the outbound stream.
        case send([UInt8])
        /// The handshake is complete; queued messages may flow. Carries the peer's READY properties.
        case handshakeComplete(peer: [ZMTPCommand.Property])
        /// A complete inbound message, frames in order (for REQ without the delimiter).
        case deliver([[UInt8]])
        /// The peer broke the protocol or sent ERROR; drop the connection (and reconnect later).
        case fail(ZMTPProtocolError)
    }

    public enum Event: Equatable, Sendable {
        case connected
        case received([UInt8])
    }

    public let socketType: ZMTPSocketType
    public let identity: [UInt8]
    public private(set) var phase = Phase.idle

    private var peerGreeting: [UInt8] = []
    private var decoder: ZMTPFrameDecoder
    private var pending: [Action] = []

    /// The message a SUB sends to subscribe to every topic: one frame, body 0x01 and an empty topic.
    public static let subscribeAll: [UInt8] = ZMTPFrame.encode([0x01], more: false)

    /// - Parameters:
    ///   - identity: announced for DEALER and REQ as `Identity` (at most 255 bytes; longer is truncated).
    public init(socketType: ZMTPSocketType, identity: [UInt8] = [], limits: ZMTPLimits = ZMTPLimits()) {
        self.socketType = socketType
        self.identity = Array(identity.prefix(255))
        self.decoder = ZMTPFrameDecoder(limits: limits)
    }

    /// Our READY command frame.
    public var readyCommand: [UInt8] {
        var properties = [ZMTPCommand.Property("Socket-Type", Array(socketType.name.utf8))]
        if socketType.sendsIdentity { properties.append(ZMTPCommand.Property("Identity", identity)) }
        return ZMTPCommand.ready(properties).encoded
    }

    /// The transport connected: returns our greeting to send. Only meaningful in `.idle`; otherwise returns
    /// nothing to send.
    public mutating func connected() -> [UInt8] {
        guard phase == .idle else { return [] }
        phase = .greeting
        peerGreeting.reserveCapacity(ZMTPGreeting.size)
        return ZMTPGreeting.encoded
    }

    /// Applies one event and returns every resulting action, in order (convenience over `connected()` and
    /// `advance(_:)`; the driver uses `advance` to avoid collecting actions).
    public mutating func handle(_ event: Event) -> [Action] {
        switch event {
        case .connected:
            let greeting = connected()
            return greeting.isEmpty ? [] : [.send(greeting)]
        case .received(let bytes):
            var actions: [Action] = []
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while true {
                    let step = advance(UnsafeRawBufferPointer(rebasing: raw[offset...]))
                    offset += step.consumed
                    guard let action = step.action else { break }
                    actions.append(action)
                }
            }
            return actions
        }
    }

    /// Consumes received bytes from the start of `input` until one action results, and returns how many bytes
    /// it consumed and the action; nil when all of `input` was consumed without one. Call again with the rest
    /// (even when empty) until it returns nil: one input can yield several actions.
    public mutating func advance(_ input: UnsafeRawBufferPointer) -> (consumed: Int, action: Action?) {
        if !pending.isEmpty { return (0, pending.removeFirst()) }
        switch phase {
        case .idle, .failed:
            return (input.count, nil)
        case .greeting:
            let take = min(ZMTPGreeting.size - peerGreeting.count, input.count)
            peerGreeting.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[0..<take]))
            do { try ZMTPGreeting.validate(prefix: peerGreeting) } catch { return fail(input.count, error) }
            guard peerGreeting.count == ZMTPGreeting.size else { return (take, nil) }
            phase = .handshake
            peerGreeting = []
            return (take, .send(readyCommand))
        case .handshake, .ready:
            var offset = 0
            while offset < input.count {
                let step: (consumed: Int, output: ZMTPFrameDecoder.Output?)
                do { step = try decoder.decode(UnsafeRawBufferPointer(rebasing: input[offset...])) } catch {
                    return fail(input.count, error)
                }
                offset += step.consumed
                guard let output = step.output else { continue }
                if let action = handle(output) { return (offset, action) }
                if phase == .failed { return (input.count, nil) }
            }
            return (offset, nil)
        }
    }

    private mutating func handle(_ output: ZMTPFrameDecoder.Output) -> Action? {
        switch (phase, output) {
        case (.handshake, .command(let command)):
            switch command {
            case .ready(let properties):
                guard let type = command.property("Socket-Type") else {
                    return failAction(ZMTPProtocolError(.incompatibleSocketType, "peer's READY has no Socket-Type"))
                }
                guard socketType.accepts(peer: type) else {
                    let name = String(decoding: type.prefix(32), as: UTF8.self)
                    return failAction(ZMTPProtocolError(.incompatibleSocketType, "\(socketType.name) cannot talk to \(name)"))
                }
                phase = .ready
                let complete = Action.handshakeComplete(peer: properties)
                if socketType == .sub {
                    pending.append(complete)
                    return .send(Self.subscribeAll)
                }
                return complete
            case .error(let reason):
                return failAction(peerError(reason))
            default:
                return failAction(ZMTPProtocolError(.unexpected, "command \(printable(command.name)) before READY"))
            }
        case (.handshake, .message):
            return failAction(ZMTPProtocolError(.unexpected, "message before READY"))
        case (.ready, .command(let command)):
            switch command {
            case .ping(_, let context):
                // ZMTP 3.1 allows at most 16 bytes of context; echo no more, whatever the peer sent.
                return .send(ZMTPCommand.pong(context: Array(context.prefix(16))).encoded)
            case .pong, .unknown:
                return nil
            case .error(let reason):
                return failAction(peerError(reason))
            case .ready:
                return failAction(ZMTPProtocolError(.unexpected, "second READY"))
            }
        case (.ready, .message):
            let frames = decoder.frames
            if socketType == .req {
                // A reply without the delimiter is dropped, like libzmq's REQ does.
                guard let first = frames.first, first.isEmpty else { return nil }
                return .deliver(Array(frames.dropFirst()))
            }
            return .deliver(frames)
        default:
            return nil
        }
    }

    private func peerError(_ reason: [UInt8]) -> ZMTPProtocolError {
        ZMTPProtocolError(.peerError, "peer sent ERROR: \(printable(reason))")
    }

    private mutating func failAction(_ error: ZMTPProtocolError) -> Action {
        phase = .failed
        pending = []
        return .fail(error)
    }

    private mutating func fail(_ consumed: Int, _ error: ZMTPProtocolError) -> (consumed: Int, action: Action?) {
        (consumed, failAction(error))
    }
}

/// At most 64 bytes of peer-controlled text for an error message, non-printable bytes as '?'.
func printable(_ bytes: some Collection<UInt8>) -> String {
    String(decoding: bytes.prefix(64).map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
}
