/// Where the parts of one client WebSocket message sit inside the received frame.
///
/// Returned by `LegacyWebSocketCodec` and `V1WebSocketCodec` decoders. Every range is an absolute index
/// range into the frame that was decoded; nothing is copied. Dict ranges are the exact value bytes (no
/// surrounding whitespace) and are what must be sent to ZeroMQ and signed.
public struct WebSocketMessageLayout: Sendable, Equatable {
    /// The channel the message is for (legacy: `shell` when the frame has no `channel`).
    public var channel: Channel
    /// The header object.
    public var header: Range<Int>
    /// The parent_header object; nil when absent or `null` (send `{}`).
    public var parentHeader: Range<Int>?
    /// The metadata object; nil when absent or `null` (send `{}`).
    public var metadata: Range<Int>?
    /// The content object.
    public var content: Range<Int>
    /// Raw binary buffers, in order (empty for text frames).
    public var buffers: [Range<Int>]
    /// The header's fields (ranges into the same frame).
    public var headerFields: HeaderFields

    /// Creates a layout from its parts.
    public init(
        channel: Channel, header: Range<Int>, parentHeader: Range<Int>?, metadata: Range<Int>?,
        content: Range<Int>, buffers: [Range<Int>], headerFields: HeaderFields
    ) {
        self.channel = channel
        self.header = header
        self.parentHeader = parentHeader
        self.metadata = metadata
        self.content = content
        self.buffers = buffers
        self.headerFields = headerFields
    }

    /// Borrowed views of the parts inside `frame`, which must be the buffer this layout was decoded from;
    /// absent parent_header/metadata become `{}`. Allocates only when there are buffers.
    public func parts(in frame: UnsafeRawBufferPointer) -> MessageParts {
        MessageParts(
            header: frame.slice(header),
            parentHeader: parentHeader.map { frame.slice($0) } ?? MessageParts.emptyObject,
            metadata: metadata.map { frame.slice($0) } ?? MessageParts.emptyObject,
            content: frame.slice(content),
            buffers: buffers.map { frame.slice($0) })
    }
}

/// Which kind of WebSocket data frame an encoder produced.
public enum WebSocketFrameKind: Sendable, Equatable {
    /// A text frame (UTF-8 JSON).
    case text
    /// A binary frame.
    case binary
}
