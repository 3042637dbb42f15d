/// The four serialized dict parts of a Jupyter message plus its raw buffers, as borrowed byte views.
///
/// These are exactly the bytes of the ZeroMQ frames (the HMAC covers header, parent_header, metadata and
/// content in that order; buffers are not signed). The struct only holds pointers: the caller owns the
/// memory and must keep it alive and unchanged for as long as the parts are used. Not `Sendable`.
public struct MessageParts {
    /// Serialized header dict.
    public var header: UnsafeRawBufferPointer
    /// Serialized parent_header dict (`{}` when there is no parent).
    public var parentHeader: UnsafeRawBufferPointer
    /// Serialized metadata dict.
    public var metadata: UnsafeRawBufferPointer
    /// Serialized content dict.
    public var content: UnsafeRawBufferPointer
    /// Raw binary buffers that follow the content frame (often empty; an empty array does not allocate).
    public var buffers: [UnsafeRawBufferPointer]

    /// Creates parts from borrowed views; see the type's ownership contract.
    public init(
        header: UnsafeRawBufferPointer,
        parentHeader: UnsafeRawBufferPointer = MessageParts.emptyObject,
        metadata: UnsafeRawBufferPointer = MessageParts.emptyObject,
        content: UnsafeRawBufferPointer,
        buffers: [UnsafeRawBufferPointer] = []
    ) {
        self.header = header
        self.parentHeader = parentHeader
        self.metadata = metadata
        self.content = content
        self.buffers = buffers
    }

    /// The bytes `{}` in static storage that lives for the whole program.
    public static var emptyObject: UnsafeRawBufferPointer {
        let literal: StaticString = "{}"
        return UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
    }
}
