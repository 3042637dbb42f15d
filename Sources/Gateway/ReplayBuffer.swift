import HTTPServer

/// Messages kept for a session whose WebSocket is gone, to replay when it reconnects. Bounded in bytes: when a
/// new message does not fit, the oldest are dropped and counted, so the client can be told how many it missed.
/// Pure value type.
package struct ReplayBuffer: Sendable {
    package struct Entry: Sendable, Equatable {
        package let kind: WebSocketMessage.Kind
        package let bytes: [UInt8]

        package init(kind: WebSocketMessage.Kind, bytes: [UInt8]) {
            self.kind = kind
            self.bytes = bytes
        }
    }

    package let capacityBytes: Int
    private(set) var entries: [Entry] = []
    private var head = 0
    package private(set) var bytes = 0
    /// Messages dropped because the buffer was full.
    package private(set) var dropped = 0

    package init(capacityBytes: Int) {
        self.capacityBytes = capacityBytes
    }

    package var count: Int { entries.count - head }

    package mutating func append(_ kind: WebSocketMessage.Kind, _ message: [UInt8]) {
        guard message.count <= capacityBytes else {
            dropped += 1
            return
        }
        while bytes + message.count > capacityBytes && head < entries.count {
            bytes -= entries[head].bytes.count
            head += 1
            dropped += 1
        }
        if head > 64 && head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
        entries.append(Entry(kind: kind, bytes: message))
        bytes += message.count
    }

    /// Counts messages that never reached the buffer (e.g. lost in a closed connection's queue).
    package mutating func noteDropped(_ count: Int) {
        dropped += count
    }

    /// Everything kept, oldest first, and empties the buffer (the dropped count is kept until read).
    package mutating func drain() -> (entries: ArraySlice<Entry>, dropped: Int) {
        let result = (entries[head...], dropped)
        entries = []
        head = 0
        bytes = 0
        dropped = 0
        return result
    }
}
