import JupyterProtocol

/// One received Jupyter message, located (not copied) in the frame it came in: channel, `msg_type`, the
/// parent's `msg_id`, and the content range. Valid only while the frame is (inside the delegate call).
struct InboundMessage {
    let frame: UnsafeRawBufferPointer
    let channel: Channel
    let msgType: Range<Int>
    /// The parent's `msg_id` content (no quotes), or nil when there is no parent.
    let parentID: Range<Int>?
    let content: Range<Int>

    /// A message whose parts were located by the caller (the direct ZeroMQ client).
    init(frame: UnsafeRawBufferPointer, channel: Channel, msgType: Range<Int>, parentID: Range<Int>?, content: Range<Int>) {
        self.frame = frame
        self.channel = channel
        self.msgType = msgType
        self.parentID = parentID
        self.content = content
    }

    /// Decodes a legacy text, legacy binary or v1 frame with the gateway's own (validating) codecs.
    init(frame: UnsafeRawBufferPointer, text: Bool, wire: WireProtocol) throws(ProtocolError) {
        self.frame = frame
        let layout: WebSocketMessageLayout
        if text {
            layout = try LegacyWebSocketCodec.decode(text: frame)
        } else if wire == .v1 {
            layout = try V1WebSocketCodec.decode(frame, validateParts: true)
        } else {
            layout = try LegacyWebSocketCodec.decode(binary: frame)
        }
        channel = layout.channel
        guard let type = layout.headerFields.msgType else {
            throw ProtocolError(.missingField, "header has no msg_type", offset: layout.header.lowerBound)
        }
        msgType = type.contentRange
        if let parent = layout.parentHeader, parent.count > 2 {
            parentID = try HeaderFields.scan(frame, range: parent).msgID?.contentRange
        } else {
            parentID = nil
        }
        content = layout.content
    }

    /// True when `msg_type` is exactly `name`.
    func isType(_ name: StaticString) -> Bool {
        bytesEqual(msgType, name)
    }

    /// True when `msg_type` ends with `_reply`.
    var isReply: Bool {
        let suffix: StaticString = "_reply"
        guard msgType.count > suffix.utf8CodeUnitCount else { return false }
        return bytesEqual(msgType.upperBound - suffix.utf8CodeUnitCount..<msgType.upperBound, suffix)
    }

    /// The raw bytes of a top-level content member's value (e.g. `"idle"` with quotes), or nil.
    func contentMember(_ key: StaticString) -> Range<Int>? {
        JSONScanner(frame, range: content).memberRange(key)
    }

    /// True when content member `key` is the JSON string `value`.
    func contentString(_ key: StaticString, is value: StaticString) -> Bool {
        guard let range = contentMember(key), range.count == value.utf8CodeUnitCount + 2 else { return false }
        return bytesEqual(range.lowerBound + 1..<range.upperBound - 1, value)
    }

    /// The parent's `msg_id` as a sequence number when it starts with `prefix`; nil otherwise.
    func parentSequence(prefix: [UInt8]) -> UInt64? {
        guard let parentID, parentID.count > prefix.count else { return nil }
        for i in 0..<prefix.count where frame[parentID.lowerBound + i] != prefix[i] { return nil }
        var value: UInt64 = 0
        for i in (parentID.lowerBound + prefix.count)..<parentID.upperBound {
            let digit = frame[i] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value &* 10 &+ UInt64(digit)
        }
        return value
    }

    private func bytesEqual(_ range: Range<Int>, _ text: StaticString) -> Bool {
        guard range.count == text.utf8CodeUnitCount else { return false }
        let base = text.utf8Start
        for i in 0..<range.count where frame[range.lowerBound + i] != base[i] { return false }
        return true
    }
}
