/// Encoded outbound messages waiting for the connection, with their boundaries. Pure (no I/O).
///
/// Messages are appended frame by frame (`append(frame:more:)`); a message joins the queue when its last frame
/// is added. The writer takes bytes from `unwritten` and reports what the socket accepted with `didWrite`. When
/// the connection dies, `rewind()` goes back to the start of the message that was only partly written, so the
/// next connection gets it whole (the peer discarded the partial one); fully written messages are gone.
struct ZMTPOutboundQueue {
    /// Queued messages, then the frames of the message being added (from `buildingStart`).
    private(set) var bytes: [UInt8] = []
    /// Bytes of `bytes` already written.
    private(set) var written = 0
    /// Where the first message not yet completely written starts.
    private(set) var firstMessageStart = 0
    /// End offsets of the queued messages, oldest first, from `endsHead` on.
    private var ends: [Int] = []
    private var endsHead = 0
    /// Where the message being added starts in `bytes` (its frames are encoded in place, not copied again).
    private var buildingStart = 0
    private(set) var isBuilding = false

    /// Buffers at most this large are kept for reuse once empty.
    static let retainedCapacity = 1 << 20

    /// Complete messages not yet completely written.
    var messageCount: Int { ends.count - endsHead }
    /// Bytes of complete messages not yet written.
    var unwrittenCount: Int { completeEnd - written }
    /// True when no byte of the first queued message has been written (another stream may be interleaved here).
    var isAtMessageBoundary: Bool { written == firstMessageStart }
    /// The end of the last complete message.
    private var completeEnd: Int { isBuilding ? buildingStart : bytes.count }

    /// Adds a frame to the message being built; the last frame (`more` false) completes it and queues it.
    mutating func append(frame: UnsafeRawBufferPointer, more: Bool) {
        if !isBuilding { buildingStart = bytes.count }
        isBuilding = more
        ZMTPFrame.appendHeader(to: &bytes, size: frame.count, more: more)
        bytes.append(contentsOf: frame)
        if !more { ends.append(bytes.count) }
    }

    /// Forgets the message being built (the socket is closing).
    mutating func discardBuilding() {
        guard isBuilding else { return }
        bytes.removeSubrange(buildingStart...)
        isBuilding = false
    }

    /// Calls `body` with the bytes not yet written (valid only during the call).
    func withUnwritten<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        bytes.withUnsafeBytes { raw in body(UnsafeRawBufferPointer(rebasing: raw[written..<completeEnd])) }
    }

    /// Records that the socket took `count` more bytes.
    mutating func didWrite(_ count: Int) {
        written = min(completeEnd, written + max(0, count))
        while endsHead < ends.count && ends[endsHead] <= written {
            firstMessageStart = ends[endsHead]
            endsHead += 1
        }
        if written == bytes.count {
            bytes.removeAll(keepingCapacity: bytes.capacity <= Self.retainedCapacity)
            ends.removeAll(keepingCapacity: true)
            written = 0
            firstMessageStart = 0
            endsHead = 0
        } else if firstMessageStart > Self.retainedCapacity && firstMessageStart > bytes.count / 2 {
            // Drop what is fully written once it is the larger part, so a long backlog does not keep it forever.
            let dropped = firstMessageStart
            bytes.removeFirst(dropped)
            ends.removeFirst(endsHead)
            for i in ends.indices { ends[i] -= dropped }
            endsHead = 0
            written -= dropped
            if isBuilding { buildingStart -= dropped }
            firstMessageStart = 0
        }
    }

    /// The connection died: the partly written message, if any, will be sent again from its first byte.
    mutating func rewind() {
        written = firstMessageStart
    }

    /// Drops everything, including the message being built.
    mutating func removeAll() {
        self = ZMTPOutboundQueue()
    }
}
