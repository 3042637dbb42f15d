extension LegacyWebSocketCodec {
    /// Appends one legacy-format frame for a kernel message to `out` and says which frame kind to send.
    ///
    /// Without buffers this is a text frame with the key order and separators `jupyter_server` produces
    /// (`json.dumps` of `Session.deserialize` plus `channel`):
    /// `{"header": H, "msg_id": I, "msg_type": T, "parent_header": P, "metadata": M, "content": C,
    /// "buffers": [], "channel": "iopub"}`; with buffers it is a binary frame whose JSON part omits
    /// `buffers`, as `serialize_binary_message` does. The dict parts are spliced verbatim; `msg_id` and
    /// `msg_type` are copied as raw string tokens from the header.
    ///
    /// `headerFields`, when given, must come from scanning `parts.header` (ranges relative to its first
    /// byte); otherwise the header is scanned here. Throws `.missingField` when the header has no `msg_id`
    /// or `msg_type`, `.tooLarge` when a binary frame would exceed 4 GiB, or a scan error.
    /// On error `out` may hold a partial frame beyond its original count; the caller truncates it.
    @discardableResult
    public static func encode(
        channel: Channel, parts: MessageParts, headerFields: HeaderFields? = nil, into out: inout [UInt8]
    ) throws(ProtocolError) -> WebSocketFrameKind {
        let header = parts.header
        let fields: HeaderFields
        if let headerFields { fields = headerFields } else { fields = try HeaderFields.scan(header) }
        guard let msgID = fields.msgID, msgID.range.upperBound <= header.count, msgID.range.lowerBound >= 0 else {
            throw ProtocolError(.missingField, "header has no msg_id")
        }
        guard let msgType = fields.msgType, msgType.range.upperBound <= header.count, msgType.range.lowerBound >= 0 else {
            throw ProtocolError(.missingField, "header has no msg_type")
        }
        let hasBuffers = !parts.buffers.isEmpty
        let jsonLength = 112 + header.count + msgID.range.count + msgType.range.count + parts.parentHeader.count
            + parts.metadata.count + parts.content.count + channel.wireName.utf8CodeUnitCount
        var tableStart = out.count
        if hasBuffers {
            var total = 4 * (parts.buffers.count + 2) + jsonLength
            for buffer in parts.buffers { total += buffer.count }
            out.reserveCapacity(out.count + total)
            tableStart = out.count
            // The table is patched once the JSON length is known.
            out.append(contentsOf: repeatElement(0, count: 4 * (parts.buffers.count + 2)))
        } else {
            out.reserveCapacity(out.count + jsonLength)
        }
        let jsonStart = out.count
        out.append(static: "{\"header\": ")
        out.append(contentsOf: header)
        out.append(static: ", \"msg_id\": ")
        out.append(contentsOf: header.slice(msgID.range))
        out.append(static: ", \"msg_type\": ")
        out.append(contentsOf: header.slice(msgType.range))
        out.append(static: ", \"parent_header\": ")
        out.append(contentsOf: parts.parentHeader)
        out.append(static: ", \"metadata\": ")
        out.append(contentsOf: parts.metadata)
        out.append(static: ", \"content\": ")
        out.append(contentsOf: parts.content)
        if !hasBuffers { out.append(static: ", \"buffers\": []") }
        out.append(static: ", \"channel\": \"")
        out.append(static: channel.wireName)
        out.append(static: "\"}")
        guard hasBuffers else { return .text }

        let count = parts.buffers.count + 1
        var offset = jsonStart - tableStart
        out.storeBigEndian(UInt32(count), at: tableStart)
        out.storeBigEndian(UInt32(offset), at: tableStart + 4)
        offset += out.count - jsonStart
        for (i, buffer) in parts.buffers.enumerated() {
            guard offset <= Int(UInt32.max) else {
                throw ProtocolError(.tooLarge, "binary frame larger than 4 GiB")
            }
            out.storeBigEndian(UInt32(offset), at: tableStart + 4 * (i + 2))
            out.append(contentsOf: buffer)
            offset += buffer.count
        }
        return .binary
    }
}
