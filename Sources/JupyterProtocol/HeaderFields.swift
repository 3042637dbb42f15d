/// Where the fields the gateway needs sit inside a serialized Jupyter message header.
///
/// Produced by one validating pass over the header object. All ranges are absolute indices into the buffer
/// that was scanned. Each field is the raw JSON string token *including quotes* (see `JSONStringToken`);
/// nil means the key is absent. The known keys must be strings and may appear at most once: a repeated
/// `msg_type` would let a client show one value to the gateway and another to the kernel (Python's `json`
/// keeps the last), so duplicates are rejected, also when spelled with escapes (`"msg\u005ftype"`).
public struct HeaderFields: Sendable, Equatable {
    /// The header object itself, from `{` to `}` inclusive.
    public var object: Range<Int>
    /// Number of members in the header object.
    public var memberCount: Int
    /// `msg_id` token, if present.
    public var msgID: JSONStringToken?
    /// `msg_type` token, if present.
    public var msgType: JSONStringToken?
    /// `session` token, if present.
    public var session: JSONStringToken?
    /// `username` token, if present.
    public var username: JSONStringToken?

    /// Creates an empty result for the object at `object`.
    public init(object: Range<Int>, memberCount: Int = 0) {
        self.object = object
        self.memberCount = memberCount
    }

    /// Scans a buffer (or the `range` window of it) that must contain exactly one JSON object, optionally
    /// surrounded by whitespace, validating all of it.
    /// Throws `.wrongType` if it is not an object or a known field is not a string, `.duplicateKey`,
    /// or any JSON syntax error.
    public static func scan(_ bytes: UnsafeRawBufferPointer, range: Range<Int>? = nil) throws(ProtocolError) -> HeaderFields {
        let scanner = JSONScanner(bytes, range: range)
        let start = scanner.skipWhitespace(scanner.bounds.lowerBound)
        let fields = try scan(scanner, at: start, depth: 1)
        try scanner.expectEnd(after: fields.object.upperBound)
        return fields
    }

    /// Scans a whole `[UInt8]` header part.
    public static func scan(_ bytes: [UInt8]) throws(ProtocolError) -> HeaderFields {
        try bytes.withBytes { (raw) throws(ProtocolError) -> HeaderFields in try scan(raw) }
    }

    /// Scans the header object starting exactly at `index`; `depth` is the depth of the object itself.
    static func scan(_ scanner: JSONScanner, at index: Int, depth: Int) throws(ProtocolError) -> HeaderFields {
        guard index < scanner.bounds.upperBound else {
            throw ProtocolError(.truncated, "header is missing", offset: index)
        }
        guard scanner.byte(index) == UInt8(ascii: "{") else {
            throw ProtocolError(.wrongType, "header is not an object", offset: index)
        }
        var fields = HeaderFields(object: index..<index)
        var cursor = ObjectCursor(scanner: scanner, openBrace: index, depth: depth)
        while let key = try cursor.nextKey() {
            fields.memberCount += 1
            guard let which = Field(key: key, scanner: scanner) else {
                _ = try cursor.skipValue()
                continue
            }
            let valueStart = cursor.position
            guard scanner.byte(valueStart) == UInt8(ascii: "\"") else {
                throw ProtocolError(.wrongType, "header.\(which.name) is not a string", offset: valueStart)
            }
            let token = try scanner.scanString(at: valueStart)
            cursor.position = token.range.upperBound
            guard fields[which] == nil else {
                throw ProtocolError(.duplicateKey, "header.\(which.name) appears more than once", offset: key.range.lowerBound)
            }
            fields[which] = token
        }
        fields.object = index..<cursor.position
        return fields
    }

    enum Field {
        case msgID, msgType, session, username

        var name: String {
            switch self {
            case .msgID: return "msg_id"
            case .msgType: return "msg_type"
            case .session: return "session"
            case .username: return "username"
            }
        }

        @inline(__always)
        init?(key: JSONStringToken, scanner: JSONScanner) {
            if key.hasEscapes {
                if scanner.string(key, equals: "msg_id") { self = .msgID }
                else if scanner.string(key, equals: "msg_type") { self = .msgType }
                else if scanner.string(key, equals: "session") { self = .session }
                else if scanner.string(key, equals: "username") { self = .username }
                else { return nil }
                return
            }
            switch key.range.count - 2 {
            case 6:
                guard scanner.string(key, equals: "msg_id") else { return nil }
                self = .msgID
            case 7:
                guard scanner.string(key, equals: "session") else { return nil }
                self = .session
            case 8:
                if scanner.string(key, equals: "msg_type") { self = .msgType }
                else if scanner.string(key, equals: "username") { self = .username }
                else { return nil }
            default:
                return nil
            }
        }
    }

    subscript(field: Field) -> JSONStringToken? {
        get {
            switch field {
            case .msgID: return msgID
            case .msgType: return msgType
            case .session: return session
            case .username: return username
            }
        }
        set {
            switch field {
            case .msgID: msgID = newValue
            case .msgType: msgType = newValue
            case .session: session = newValue
            case .username: username = newValue
            }
        }
    }
}
