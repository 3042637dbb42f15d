/// The `v1.kernel.websocket.jupyter.org` WebSocket format (always binary frames).
///
/// Layout (`jupyter_server` `serialize_msg_to_ws_v1`): little-endian u64 `n`, then `n` little-endian u64
/// absolute offsets, then the parts back to back: channel name, header, parent_header, metadata, content,
/// buffers. Offset `i` is where part `i` starts and offset `n - 1` is the end of the frame, so there are
/// `n - 1` parts and the first offset is the end of the table, `8 * (n + 1)`. The dict parts are the exact
/// bytes of the ZeroMQ frames. All functions are pure and thread-safe and never retain their buffers.
public enum V1WebSocketCodec {
    /// The subprotocol name a client offers in `Sec-WebSocket-Protocol`.
    public static let subprotocol = "v1.kernel.websocket.jupyter.org"

    /// Upper bound on the number of offsets accepted by `decode` (channel + 4 dicts + buffers + end).
    public static let maxOffsets = 4096

    /// Decodes a v1 frame into ranges of the input.
    ///
    /// Strict about the table (the only producers, jupyter_server and JupyterLab, write it exactly this
    /// way): at least 6 offsets, the first equal to the table end, non-decreasing, the last equal to the
    /// frame length. The channel must be a known name; the header is fully scanned (`HeaderFields`).
    /// With `validateParts` (default) parent_header, metadata and content must each be one valid JSON
    /// object; without it they are only checked to start with `{`, saving a pass over the content.
    public static func decode(
        _ frame: UnsafeRawBufferPointer, validateParts: Bool = true
    ) throws(ProtocolError) -> WebSocketMessageLayout {
        let length = frame.count
        guard length >= 8 else { throw ProtocolError(.truncated, "v1 frame shorter than its offset count", offset: 0) }
        let declared = frame.readLittleEndianUInt64(at: 0)
        guard declared >= 6 else {
            throw ProtocolError(.invalidOffsetTable, "v1 frame declares \(declared) offsets, at least 6 needed", offset: 0)
        }
        guard declared <= UInt64(maxOffsets), declared <= UInt64((length - 8) / 8) else {
            throw ProtocolError(.invalidOffsetTable, "v1 frame declares \(declared) offsets, more than fit or are allowed", offset: 0)
        }
        let count = Int(declared)
        let tableEnd = 8 * (count + 1)
        // Offsets 0...5 describe channel and the four dicts; keep them without allocating.
        var fixed = (0, 0, 0, 0, 0, 0)
        var buffers: [Range<Int>] = []
        if count > 6 { buffers.reserveCapacity(count - 6) }
        var previous = tableEnd
        for i in 0..<count {
            let raw = frame.readLittleEndianUInt64(at: 8 * (i + 1))
            guard raw <= UInt64(length) else {
                throw ProtocolError(.invalidOffsetTable, "offset \(i) out of range", offset: 8 * (i + 1))
            }
            let offset = Int(raw)
            if i == 0 {
                guard offset == tableEnd else {
                    throw ProtocolError(.invalidOffsetTable, "offset 0 is \(offset), expected the table end \(tableEnd)", offset: 8)
                }
            } else {
                guard offset >= previous else {
                    throw ProtocolError(.invalidOffsetTable, "offset \(i) is smaller than offset \(i - 1)", offset: 8 * (i + 1))
                }
            }
            switch i {
            case 0: fixed.0 = offset
            case 1: fixed.1 = offset
            case 2: fixed.2 = offset
            case 3: fixed.3 = offset
            case 4: fixed.4 = offset
            case 5: fixed.5 = offset
            default: buffers.append(previous..<offset)
            }
            previous = offset
        }
        guard previous == length else {
            throw ProtocolError(.invalidOffsetTable, "last offset \(previous) is not the frame length \(length)", offset: 8 * count)
        }
        guard let channel = Channel(bytes: frame.slice(fixed.0..<fixed.1)) else {
            throw ProtocolError(.unknownChannel, "unknown channel", offset: fixed.0)
        }
        let headerFields = try HeaderFields.scan(frame, range: fixed.1..<fixed.2)
        let parentHeader = try checkObject(frame, fixed.2..<fixed.3, "parent_header", validateParts)
        let metadata = try checkObject(frame, fixed.3..<fixed.4, "metadata", validateParts)
        let content = try checkObject(frame, fixed.4..<fixed.5, "content", validateParts)
        return WebSocketMessageLayout(
            channel: channel, header: headerFields.object, parentHeader: parentHeader, metadata: metadata,
            content: content, buffers: buffers, headerFields: headerFields)
    }

    /// `decode(_:validateParts:)` for a `[UInt8]` frame.
    public static func decode(_ frame: [UInt8], validateParts: Bool = true) throws(ProtocolError) -> WebSocketMessageLayout {
        try frame.withBytes { (raw) throws(ProtocolError) in try decode(raw, validateParts: validateParts) }
    }

    /// Returns the exact range of the object in `range` (whitespace trimmed when validating).
    private static func checkObject(
        _ frame: UnsafeRawBufferPointer, _ range: Range<Int>, _ name: StaticString, _ validate: Bool
    ) throws(ProtocolError) -> Range<Int> {
        let scanner = JSONScanner(frame, range: range)
        if validate {
            let value = try scanner.validateDocument()
            guard frame[value.lowerBound] == UInt8(ascii: "{") else {
                throw ProtocolError(.wrongType, "\(name) is not an object", offset: value.lowerBound)
            }
            return value
        }
        let start = scanner.skipWhitespace(range.lowerBound)
        guard start < range.upperBound, frame[start] == UInt8(ascii: "{") else {
            throw ProtocolError(.wrongType, "\(name) is not an object", offset: start)
        }
        return range
    }

    /// Appends one v1 frame for a message on `channel` to `out` (reusing its capacity).
    /// The parts are copied verbatim; nothing is parsed. Never fails.
    public static func encode(channel: Channel, parts: MessageParts, into out: inout [UInt8]) {
        let count = 6 + parts.buffers.count
        let tableSize = 8 * (count + 1)
        let channelLength = channel.wireName.utf8CodeUnitCount
        var total = tableSize + channelLength + parts.header.count + parts.parentHeader.count
            + parts.metadata.count + parts.content.count
        for buffer in parts.buffers { total += buffer.count }
        out.reserveCapacity(out.count + total)

        out.appendLittleEndian(UInt64(count))
        var offset = tableSize
        out.appendLittleEndian(UInt64(offset))
        offset += channelLength
        out.appendLittleEndian(UInt64(offset))
        offset += parts.header.count
        out.appendLittleEndian(UInt64(offset))
        offset += parts.parentHeader.count
        out.appendLittleEndian(UInt64(offset))
        offset += parts.metadata.count
        out.appendLittleEndian(UInt64(offset))
        offset += parts.content.count
        out.appendLittleEndian(UInt64(offset))
        for buffer in parts.buffers {
            offset += buffer.count
            out.appendLittleEndian(UInt64(offset))
        }
        out.append(static: channel.wireName)
        out.append(contentsOf: parts.header)
        out.append(contentsOf: parts.parentHeader)
        out.append(contentsOf: parts.metadata)
        out.append(contentsOf: parts.content)
        for buffer in parts.buffers { out.append(contentsOf: buffer) }
    }
}
