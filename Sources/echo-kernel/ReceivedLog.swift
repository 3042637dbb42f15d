import JupyterProtocol

/// What `%received` reports: `[channel, msg_type, username]` of every accepted (signature-valid) message,
/// kept as pre-serialized JSON so recording costs one append. Bounded: past `limit` entries the oldest
/// half is dropped. Pure value type.
struct ReceivedLog {
    /// Entries kept at most (the oldest are dropped beyond it).
    static let limit = 10_000

    /// Serialized entries, each `["shell","execute_request","alice"]`, back to back.
    private var bytes: [UInt8] = []
    /// Start offset of each entry in `bytes`.
    private var starts: [Int] = []

    init() {
        bytes.reserveCapacity(64 << 10)
    }

    /// Number of entries held.
    var count: Int { starts.count }

    /// Records one message. `msgType` and `username` are raw JSON string tokens (with quotes) as they
    /// appeared in the header; nil is written as `null`.
    mutating func record(channel: Channel, msgType: UnsafeRawBufferPointer?, username: UnsafeRawBufferPointer?) {
        if starts.count >= ReceivedLog.limit { dropOldestHalf() }
        starts.append(bytes.count)
        bytes.appendASCII("[\"")
        channel.withWireName { bytes.appendRaw($0) }
        bytes.appendASCII("\",")
        if let msgType { bytes.appendRaw(msgType) } else { bytes.appendASCII("null") }
        bytes.append(UInt8(ascii: ","))
        if let username { bytes.appendRaw(username) } else { bytes.appendASCII("null") }
        bytes.append(UInt8(ascii: "]"))
    }

    /// Appends the entries as one JSON list to `out`.
    func writeList(into out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (i, start) in starts.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            let end = i + 1 < starts.count ? starts[i + 1] : bytes.count
            out.append(contentsOf: bytes[start..<end])
        }
        out.append(UInt8(ascii: "]"))
    }

    private mutating func dropOldestHalf() {
        let keepFrom = starts.count / 2
        let offset = starts[keepFrom]
        bytes.removeSubrange(0..<offset)
        starts.removeSubrange(0..<keepFrom)
        for i in starts.indices { starts[i] -= offset }
    }
}
