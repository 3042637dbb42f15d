/// The location of one JSON string token inside a byte buffer.
///
/// `range` covers the raw token *including* its quotes, so it can be spliced verbatim into other JSON
/// (the legacy WebSocket encoder copies `msg_id` / `msg_type` this way). `contentRange` excludes the quotes.
/// `hasEscapes` is true when the raw content contains a backslash: then the raw bytes differ from the
/// decoded value and comparisons must decode (see `JSONScanner.string(_:equals:)`).
/// A token is only meaningful together with the buffer it was scanned from.
public struct JSONStringToken: Sendable, Hashable {
    /// The raw token including both quotes.
    public var range: Range<Int>
    /// True when the content contains at least one backslash escape.
    public var hasEscapes: Bool

    /// Creates a token; `range` must include the quotes.
    public init(range: Range<Int>, hasEscapes: Bool) {
        self.range = range
        self.hasEscapes = hasEscapes
    }

    /// The raw content between the quotes (still escaped if `hasEscapes`); empty for a malformed token.
    @inlinable
    public var contentRange: Range<Int> {
        guard range.count >= 2 else { return range.lowerBound..<range.lowerBound }
        return (range.lowerBound + 1)..<(range.upperBound - 1)
    }
}
