import Basics

/// A header for a message the gateway originates (e.g. `kernel_info_request`, `shutdown_request`,
/// a `status` it reports to clients), serialized without a JSON library.
///
/// Output: `{"msg_id":"…","msg_type":"…","username":"…","session":"…","date":"2026-11-24T02:13:45.123456Z",
/// "version":"5.3"}` (compact, keys in this order, strings escaped by `JSONEscaper`).
public struct MessageHeader: Sendable, Hashable {
    /// The protocol version the gateway speaks.
    public static let protocolVersion = "5.3"

    /// Unique id of this message.
    public var msgID: String
    /// Message type, e.g. `kernel_info_request`.
    public var msgType: String
    /// Username recorded in the header.
    public var username: String
    /// Session id.
    public var session: String
    /// Creation time.
    public var date: UTCTimestamp
    /// Protocol version.
    public var version: String

    /// Creates a header; by default with a fresh random id, the current time and version 5.3.
    public init(
        msgID: String = MessageID.random(), msgType: String, username: String, session: String,
        date: UTCTimestamp = .now(), version: String = MessageHeader.protocolVersion
    ) {
        self.msgID = msgID
        self.msgType = msgType
        self.username = username
        self.session = session
        self.date = date
        self.version = version
    }

    /// Appends the serialized header to `out` and returns its range there.
    @discardableResult
    public func write(into out: inout [UInt8]) -> Range<Int> {
        let start = out.count
        out.reserveCapacity(out.count + 110 + msgID.utf8.count + msgType.utf8.count + username.utf8.count + session.utf8.count)
        out.append(static: "{\"msg_id\":")
        JSONEscaper.appendQuoted(msgID, to: &out)
        out.append(static: ",\"msg_type\":")
        JSONEscaper.appendQuoted(msgType, to: &out)
        out.append(static: ",\"username\":")
        JSONEscaper.appendQuoted(username, to: &out)
        out.append(static: ",\"session\":")
        JSONEscaper.appendQuoted(session, to: &out)
        out.append(static: ",\"date\":\"")
        date.write(into: &out)
        out.append(static: "\",\"version\":")
        JSONEscaper.appendQuoted(version, to: &out)
        out.append(UInt8(ascii: "}"))
        return start..<out.count
    }

    /// The serialized header (allocates).
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        write(into: &out)
        return out
    }
}
