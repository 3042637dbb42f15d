/// Encoded outbound messages waiting for the connection, with their boundaries. Pure (no I/O).
///
/// Messages are appended frame by frame (`append(frame:more:)`); a message joins the queue when its last frame
/// is added. The writer takes bytes from `unwritten` and reports what the socket accepted with `didWrite`. When
/// the connection dies, `rewind()` goes back to the start of the message that was only partly written, so the
/// next connection gets it whole (the peer discarded the partial one); fully written messages are gone.
struct ZMTPOutboundQueue {
    private(set) var bytes: [UInt8] = []
    /// Bytes of `bytes` already written.
    private(set) var written = 0
    /// Where the first message not yet completely written starts.
    private(set) var firstMessageStart = 0
    /// End offsets of the queued messages, oldest first, from `endsHead` on.
    private var ends: [Int] = []
    private var endsHead = 0
    /// The frames of the message being added (its last frame not yet given).
    private(set) var building: [UInt8] = []
    private(set) var isBuilding = false

    /// Buffers at most this large are kept for reuse once empty.
    static let retainedCapacity = 1 << 20

    /// Complete messages not yet completely written.
    var messageCount: Int { ends.count - endsHead }
    /// Bytes of complete messages not yet written.
    var unwrittenCount: Int { bytes.count - written }
    /// True when no byte of the first queued message has been written (another stream may be interleaved here).
    var isAtMessageBoundary: Bool { written == firstMessageStart }

    /// Adds a frame to the message being built; the last frame (`more` false) completes it and queues it.
    mutating func append(frame: UnsafeRawBufferPointer, more: Bool) {
        let continuing = isBuilding
        isBuilding = more
        if !more && !continuing {
            // A single-frame message: straight into the queue.
            ZMTPFrame.appendHeader(to: &bytes, size: frame.count, more: false)
            bytes.append(contentsOf: frame)
            ends.append(bytes.count)
            return
        }
        ZMTPFrame.appendHeader(to: &building, size: frame.count, more: more)
        building.append(contentsOf: frame)
        if !more { commitBuilding() }
    }

    /// Queues the frames built so far plus an already encoded tail (the last frame's header and body).
    mutating func commitBuilding(header: UnsafeRawBufferPointer, body: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: building)
        bytes.append(contentsOf: header)
        bytes.append(contentsOf: body)
        ends.append(bytes.count)
        discardBuilding()
    }

    private mutating func commitBuilding() {
        bytes.append(contentsOf: building)
        ends.append(bytes.count)
        discardBuilding()
    }

    /// Forgets the message being built (it was written directly, or the socket is closing).
    mutating func discardBuilding() {
        building.removeAll(keepingCapacity: building.capacity <= Self.retainedCapacity)
        isBuilding = false
    }

    /// Calls `body` with the bytes not yet written (valid only during the call).
    func withUnwritten<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        bytes.withUnsafeBytes { raw in body(UnsafeRawBufferPointer(rebasing: raw[written...])) }
    }

    /// Records that the socket took `count` more bytes.
    mutating func didWrite(_ count: Int) {
        written = min(bytes.count, written + max(0, count))
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
