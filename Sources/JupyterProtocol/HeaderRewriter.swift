/// Produces a copy of a header with `username` set to a given value, by splicing bytes.
///
/// The gateway stamps the authenticated identity on every forwarded message so kernels (and their
/// audit logs) never see a username the client made up. If the header has a `username`, its value token is
/// replaced; otherwise `"username":<value>` is inserted as the first member. Everything else is copied
/// byte for byte. Pure, thread-safe.
public enum HeaderRewriter {
    /// Appends the rewritten header to `out` and returns its range there.
    ///
    /// `frame` is the buffer the header was scanned from and `fields` the result of that scan (ranges
    /// absolute in `frame`). Throws `.truncated` if `fields` does not lie inside `frame` (a caller bug;
    /// checked so it cannot read out of bounds).
    @discardableResult
    public static func replaceUsername(
        in frame: UnsafeRawBufferPointer, fields: HeaderFields, with username: JSONStringLiteral,
        into out: inout [UInt8]
    ) throws(ProtocolError) -> Range<Int> {
        let object = fields.object
        guard object.lowerBound >= 0, object.upperBound <= frame.count, object.count >= 2 else {
            throw ProtocolError(.truncated, "header fields do not match the frame")
        }
        let start = out.count
        out.reserveCapacity(out.count + object.count + username.token.count + 12)
        if let existing = fields.username {
            let value = existing.range
            guard value.lowerBound > object.lowerBound, value.upperBound < object.upperBound else {
                throw ProtocolError(.truncated, "header fields do not match the frame")
            }
            out.append(contentsOf: frame.slice(object.lowerBound..<value.lowerBound))
            out.append(contentsOf: username.token)
            out.append(contentsOf: frame.slice(value.upperBound..<object.upperBound))
        } else {
            out.append(static: "{\"username\":")
            out.append(contentsOf: username.token)
            if fields.memberCount > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: frame.slice((object.lowerBound + 1)..<object.upperBound))
        }
        return start..<out.count
    }

    /// Rewrites a standalone header part (scans it first). Allocates; for non-hot paths and tests.
    public static func replaceUsername(in header: [UInt8], with username: String) throws(ProtocolError) -> [UInt8] {
        let literal = JSONStringLiteral(username)
        return try header.withBytes { (raw) throws(ProtocolError) -> [UInt8] in
            let fields = try HeaderFields.scan(raw)
            var out: [UInt8] = []
            try replaceUsername(in: raw, fields: fields, with: literal, into: &out)
            return out
        }
    }
}
