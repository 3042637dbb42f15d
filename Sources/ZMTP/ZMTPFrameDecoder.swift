/// An incremental ZMTP 3.0 frame decoder: consumes bytes in chunks of any size and yields each complete
/// multipart message and each command.
///
/// Pure (no I/O). Safe on hostile input: every size is checked against `limits` before anything is reserved,
/// reserved flag bits, commands with MORE and commands between the frames of a message are rejected, and no
/// input makes it trap. After it throws, the decoder is unusable (the connection must be dropped).
///
/// Memory reuse: the frames of a completed message stay in `frames`, and the next message is decoded into the
/// same outer array and the same per-frame arrays (cleared, capacity kept, except frames over 1 MiB, which are
/// released when the next message reaches them). A caller that keeps a reference to `frames` gets a
/// copy-on-write snapshot, so keeping is safe.
public struct ZMTPFrameDecoder {
    /// What one `decode` call stopped for.
    public enum Output: Equatable, Sendable {
        /// A message is complete; its frames are in `frames` until the next `decode` call.
        case message
        /// A command frame arrived.
        case command(ZMTPCommand)
    }

    public let limits: ZMTPLimits
    /// The last complete message (exactly its frames) once `decode` returned `.message`.
    public private(set) var frames: [[UInt8]] = []

    private enum Phase { case flags, size, body }
    private var phase = Phase.flags
    private var flags: UInt8 = 0
    private var sizeBytesLeft = 0
    private var size: UInt64 = 0
    private var remaining = 0
    /// Frames of the message in progress (they occupy `frames[0..<frameCount]`; later slots are stale).
    private var frameCount = 0
    private var messageBytes = 0
    private var commandBody: [UInt8] = []

    /// Per-frame capacity kept for reuse; bigger buffers are released after their message.
    static let retainedFrameCapacity = 1 << 20

    public init(limits: ZMTPLimits = ZMTPLimits()) {
        self.limits = limits
    }

    /// Whether the decoder is between messages and commands (no partial frame or message buffered).
    public var isAtBoundary: Bool { phase == .flags && frameCount == 0 }

    /// Consumes bytes from the start of `input` up to and including the end of the first complete message or
    /// command, and returns how many it consumed and what completed (nil when it consumed all of `input` without
    /// completing anything).
    /// - Throws: `ZMTPProtocolError` (`.malformedFrame`, `.unexpected`, `.messageTooLarge`, `.tooManyFrames`,
    ///   `.commandTooLarge`, `.malformedCommand`).
    public mutating func decode(_ input: UnsafeRawBufferPointer) throws(ZMTPProtocolError) -> (consumed: Int, output: Output?) {
        var i = 0
        while i < input.count {
            switch phase {
            case .flags:
                let byte = input[i]
                i += 1
                try startFrame(flags: byte)
            case .size:
                size = size << 8 | UInt64(input[i])
                i += 1
                sizeBytesLeft -= 1
                if sizeBytesLeft == 0 {
                    try startBody()
                    if remaining == 0, let output = try finishFrame() { return (i, output) }
                }
            case .body:
                let n = min(remaining, input.count - i)
                let chunk = UnsafeRawBufferPointer(rebasing: input[i..<i + n])
                if flags & ZMTPFrame.command != 0 {
                    commandBody.append(contentsOf: chunk)
                } else {
                    frames[frameCount - 1].append(contentsOf: chunk)
                }
                i += n
                remaining -= n
                if remaining == 0, let output = try finishFrame() { return (i, output) }
            }
        }
        return (i, nil)
    }

    private mutating func startFrame(flags byte: UInt8) throws(ZMTPProtocolError) {
        if byte & ZMTPFrame.reserved != 0 {
            throw ZMTPProtocolError(.malformedFrame, "reserved flag bits set (\(byte))")
        }
        if byte & ZMTPFrame.command != 0 {
            if byte & ZMTPFrame.more != 0 {
                throw ZMTPProtocolError(.malformedFrame, "command frame with MORE")
            }
            if frameCount > 0 {
                throw ZMTPProtocolError(.unexpected, "command between the frames of a message")
            }
        }
        flags = byte
        size = 0
        sizeBytesLeft = byte & ZMTPFrame.long != 0 ? 8 : 1
        phase = .size
    }

    private mutating func startBody() throws(ZMTPProtocolError) {
        guard size <= UInt64(Int.max) else { throw ZMTPProtocolError(.malformedFrame, "frame size \(size) out of range") }
        let size = Int(size)
        if flags & ZMTPFrame.command != 0 {
            guard size <= limits.maxCommandBytes else {
                throw ZMTPProtocolError(.commandTooLarge, "command of \(size) bytes (limit \(limits.maxCommandBytes))")
            }
            commandBody.removeAll(keepingCapacity: commandBody.capacity <= 4096)
            commandBody.reserveCapacity(size)
        } else {
            guard frameCount < limits.maxFramesPerMessage else {
                throw ZMTPProtocolError(.tooManyFrames, "more than \(limits.maxFramesPerMessage) frames in a message")
            }
            guard size <= limits.maxMessageBytes - messageBytes else {
                throw ZMTPProtocolError(.messageTooLarge, "message over \(limits.maxMessageBytes) bytes")
            }
            messageBytes += size
            if frameCount < frames.count {
                if frames[frameCount].capacity > Self.retainedFrameCapacity {
                    frames[frameCount] = []
                } else {
                    frames[frameCount].removeAll(keepingCapacity: true)
                }
            } else {
                frames.append([])
            }
            // Announced sizes are only partly trusted: reserve at most 1 MiB up front, growth does the rest.
            frames[frameCount].reserveCapacity(min(size, Self.retainedFrameCapacity))
            frameCount += 1
        }
        remaining = size
        phase = .body
    }

    private mutating func finishFrame() throws(ZMTPProtocolError) -> Output? {
        phase = .flags
        if flags & ZMTPFrame.command != 0 {
            // withUnsafeBytes rethrows untyped; carry the typed error out in a Result.
            let result = commandBody.withUnsafeBytes { raw in
                Result { () throws(ZMTPProtocolError) in try ZMTPCommand.decode(body: raw) }
            }
            return .command(try result.get())
        }
        if flags & ZMTPFrame.more != 0 { return nil }
        if frames.count > frameCount { frames.removeLast(frames.count - frameCount) }
        frameCount = 0
        messageBytes = 0
        return .message
    }
}
