/// The legacy Jupyter WebSocket format (no subprotocol): a JSON text frame, or a binary frame with an
/// offset table when the message has buffers. Decoding locates parts; encoding splices raw part bytes.
///
/// Text frame: one JSON object `{"header", "parent_header", "metadata", "content", "buffers", "channel",
/// "msg_id"?, "msg_type"?}`.
/// Binary frame: big-endian u32 `n`, then `n` big-endian u32 absolute offsets; the JSON message starts at
/// the first offset, buffer `i` at offset `i + 1`; each part ends where the next starts, the last at the
/// end of the frame (`jupyter_server` `serialize_binary_message`).
///
/// All functions are pure and thread-safe; they never retain the buffers they are given.
public enum LegacyWebSocketCodec {
    /// Upper bound on the parts of a binary frame (JSON + buffers) accepted by `decode(binary:)`.
    public static let maxBinaryParts = 4096

    // MARK: Decoding

    /// Decodes a text frame. The whole message is validated as JSON.
    ///
    /// Required: `header` (object) and `content` (object). `parent_header` and `metadata` may be absent
    /// or `null` (layout field nil: send `{}`). `channel` may be absent or `null` (means shell); otherwise
    /// it must be a known channel name. `buffers` may be any array or object and is ignored (text frames
    /// carry no binary buffers). `msg_id`, `msg_type` and unknown keys are ignored. The six known keys may
    /// not repeat. Throws `ProtocolError` naming the problem.
    public static func decode(text frame: UnsafeRawBufferPointer) throws(ProtocolError) -> WebSocketMessageLayout {
        try decodeMessageJSON(JSONScanner(frame), buffers: [])
    }

    /// Decodes a binary frame (offset table + JSON message + buffers). The JSON part follows the rules of
    /// `decode(text:)`; any `buffers` key in it is ignored in favour of the binary buffers.
    /// Throws `.invalidOffsetTable` when the count is 0 or too large for the frame, the first offset is not
    /// the end of the table, offsets decrease or lie beyond the frame.
    public static func decode(binary frame: UnsafeRawBufferPointer) throws(ProtocolError) -> WebSocketMessageLayout {
        let length = frame.count
        guard length >= 4 else {
            throw ProtocolError(.truncated, "binary frame shorter than its part count", offset: 0)
        }
        let count = Int(frame.readBigEndianUInt32(at: 0))
        guard count >= 1 else {
            throw ProtocolError(.invalidOffsetTable, "binary frame declares no parts", offset: 0)
        }
        guard count <= maxBinaryParts, count <= (length - 4) / 4 else {
            throw ProtocolError(.invalidOffsetTable, "binary frame declares \(count) parts, more than fit or are allowed", offset: 0)
        }
        let tableEnd = 4 * (count + 1)
        var previous = tableEnd
        var starts = (first: 0, second: length)
        var buffers: [Range<Int>] = []
        if count > 1 { buffers.reserveCapacity(count - 1) }
        for i in 0..<count {
            let offset = Int(frame.readBigEndianUInt32(at: 4 * (i + 1)))
            if i == 0 {
                guard offset == tableEnd else {
                    throw ProtocolError(.invalidOffsetTable, "offset 0 is \(offset), expected the table end \(tableEnd)", offset: 4)
                }
                starts.first = offset
            } else {
                guard offset <= length else {
                    throw ProtocolError(.invalidOffsetTable, "offset \(i) out of range", offset: 4 * (i + 1))
                }
                guard offset >= previous else {
                    throw ProtocolError(.invalidOffsetTable, "offset \(i) is smaller than offset \(i - 1)", offset: 4 * (i + 1))
                }
                if i == 1 { starts.second = offset } else { buffers.append(previous..<offset) }
            }
            previous = offset
        }
        if count > 1 { buffers.append(previous..<length) }
        let scanner = JSONScanner(frame, range: starts.first..<starts.second)
        return try decodeMessageJSON(scanner, buffers: buffers)
    }

    /// `decode(text:)` for a `[UInt8]` frame.
    public static func decode(text frame: [UInt8]) throws(ProtocolError) -> WebSocketMessageLayout {
        try frame.withBytes { (raw) throws(ProtocolError) in try decode(text: raw) }
    }

    /// `decode(binary:)` for a `[UInt8]` frame.
    public static func decode(binary frame: [UInt8]) throws(ProtocolError) -> WebSocketMessageLayout {
        try frame.withBytes { (raw) throws(ProtocolError) in try decode(binary: raw) }
    }

    private enum TopKey {
        case header, parentHeader, metadata, content, channel, buffers

        var name: String {
            switch self {
            case .header: return "header"
            case .parentHeader: return "parent_header"
            case .metadata: return "metadata"
            case .content: return "content"
            case .channel: return "channel"
            case .buffers: return "buffers"
            }
        }

        var bit: UInt8 {
            switch self {
            case .header: return 1
            case .parentHeader: return 2
            case .metadata: return 4
            case .content: return 8
            case .channel: return 16
            case .buffers: return 32
            }
        }

        @inline(__always)
        init?(_ key: JSONStringToken, _ s: JSONScanner) {
            if key.hasEscapes {
                for candidate in [TopKey.header, .parentHeader, .metadata, .content, .channel, .buffers]
                where s.string(key, equals: candidate.staticName) {
                    self = candidate
                    return
                }
                return nil
            }
            switch key.range.count - 2 {
            case 6:
                guard s.string(key, equals: "header") else { return nil }
                self = .header
            case 7:
                if s.string(key, equals: "content") { self = .content }
                else if s.string(key, equals: "channel") { self = .channel }
                else if s.string(key, equals: "buffers") { self = .buffers }
                else { return nil }
            case 8:
                guard s.string(key, equals: "metadata") else { return nil }
                self = .metadata
            case 13:
                guard s.string(key, equals: "parent_header") else { return nil }
                self = .parentHeader
            default:
                return nil
            }
        }

        var staticName: StaticString {
            switch self {
            case .header: return "header"
            case .parentHeader: return "parent_header"
            case .metadata: return "metadata"
            case .content: return "content"
            case .channel: return "channel"
            case .buffers: return "buffers"
            }
        }
    }

    /// Decodes the message object in the scanner's window.
    static func decodeMessageJSON(_ s: JSONScanner, buffers: [Range<Int>]) throws(ProtocolError) -> WebSocketMessageLayout {
        let start = s.skipWhitespace(s.bounds.lowerBound)
        guard start < s.bounds.upperBound else { throw ProtocolError(.truncated, "empty message", offset: start) }
        guard s.byte(start) == UInt8(ascii: "{") else {
            throw ProtocolError(.wrongType, "message is not a JSON object", offset: start)
        }
        var seen: UInt8 = 0
        var headerFields: HeaderFields?
        var parentHeader: Range<Int>?
        var metadata: Range<Int>?
        var content: Range<Int>?
        var channel = Channel.shell
        var cursor = ObjectCursor(scanner: s, openBrace: start, depth: 1)
        while let key = try cursor.nextKey() {
            guard let which = TopKey(key, s) else {
                _ = try cursor.skipValue()
                continue
            }
            guard seen & which.bit == 0 else {
                throw ProtocolError(.duplicateKey, "\(which.name) appears more than once", offset: key.range.lowerBound)
            }
            seen |= which.bit
            let valueStart = cursor.position
            let first = s.byte(valueStart)
            switch which {
            case .header:
                let fields = try HeaderFields.scan(s, at: valueStart, depth: 2)
                cursor.position = fields.object.upperBound
                headerFields = fields
            case .content:
                guard first == UInt8(ascii: "{") else {
                    throw ProtocolError(.wrongType, "content is not an object", offset: valueStart)
                }
                content = try cursor.skipValue()
            case .parentHeader, .metadata:
                let value = try cursor.skipValue()
                let range: Range<Int>?
                if first == UInt8(ascii: "{") {
                    range = value
                } else if first == UInt8(ascii: "n") {
                    range = nil
                } else {
                    throw ProtocolError(.wrongType, "\(which.name) is not an object", offset: valueStart)
                }
                if which == .parentHeader { parentHeader = range } else { metadata = range }
            case .channel:
                if first == UInt8(ascii: "\"") {
                    let token = try s.scanString(at: valueStart)
                    cursor.position = token.range.upperBound
                    channel = try parseChannel(token, s)
                } else {
                    let value = try cursor.skipValue()
                    guard first == UInt8(ascii: "n") else {
                        throw ProtocolError(.wrongType, "channel is not a string", offset: value.lowerBound)
                    }
                }
            case .buffers:
                guard first == UInt8(ascii: "[") || first == UInt8(ascii: "{") else {
                    throw ProtocolError(.wrongType, "buffers is not a list", offset: valueStart)
                }
                _ = try cursor.skipValue()
            }
        }
        try s.expectEnd(after: cursor.position)
        guard let headerFields else { throw ProtocolError(.missingField, "message has no header", offset: start) }
        guard let content else { throw ProtocolError(.missingField, "message has no content", offset: start) }
        return WebSocketMessageLayout(
            channel: channel, header: headerFields.object, parentHeader: parentHeader, metadata: metadata,
            content: content, buffers: buffers, headerFields: headerFields)
    }

    static func parseChannel(_ token: JSONStringToken, _ s: JSONScanner) throws(ProtocolError) -> Channel {
        if !token.hasEscapes, let channel = Channel(bytes: s.bytes.slice(token.contentRange)) {
            return channel
        }
        if token.hasEscapes {
            var decoded: [UInt8] = []
            try s.unescape(token, into: &decoded)
            if let channel = Channel(bytes: decoded) { return channel }
        }
        throw ProtocolError(.unknownChannel, "unknown channel", offset: token.range.lowerBound)
    }
}
