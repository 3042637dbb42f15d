/// Building the ZeroMQ multipart list of a Jupyter message:
/// `[identities...] "<IDS|MSG>" signature header parent_header metadata content [buffers...]`.
///
/// Nothing is concatenated: `forEachFrame` hands the frames to the caller in wire order so it can call
/// `zmq_send` once per frame (with `ZMQ_SNDMORE` while `more` is true). Pure, thread-safe.
public enum ZMQFrames {
    /// The delimiter frame between routing identities and the message.
    public static let delimiter: StaticString = "<IDS|MSG>"

    /// The delimiter's bytes (static storage, valid for the whole program).
    public static var delimiterBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: delimiter.utf8Start, count: delimiter.utf8CodeUnitCount)
    }

    /// Number of frames `forEachFrame` produces for these inputs.
    public static func frameCount(identities: Int, buffers: Int) -> Int { identities + 6 + buffers }

    /// Calls `body` once per frame in wire order; `more` is false only for the last frame.
    /// The buffers passed to `body` are valid only during that call. Rethrows what `body` throws.
    /// `identities` may be any collection (`[]`, `CollectionOfOne(id)`, an array slice) so that sending
    /// needs no allocation; a DEALER socket sends none, a ROUTER socket the peer's routing id.
    @inlinable
    public static func forEachFrame<Identities: Collection<UnsafeRawBufferPointer>, E: Error>(
        identities: Identities, signature: HMACSignature, parts: MessageParts,
        _ body: (_ frame: UnsafeRawBufferPointer, _ more: Bool) throws(E) -> Void
    ) throws(E) {
        for identity in identities { try body(identity, true) }
        try body(delimiterBytes, true)
        try signature.withUnsafeBytes { (raw) throws(E) in try body(raw, true) }
        try body(parts.header, true)
        try body(parts.parentHeader, true)
        try body(parts.metadata, true)
        let buffers = parts.buffers
        try body(parts.content, !buffers.isEmpty)
        for (i, buffer) in buffers.enumerated() { try body(buffer, i + 1 < buffers.count) }
    }

    /// The frames as owned arrays (allocates; for tests and non-hot paths).
    public static func frames(identities: [[UInt8]] = [], signature: HMACSignature, parts: MessageParts) -> [[UInt8]] {
        var result: [[UInt8]] = []
        result.reserveCapacity(frameCount(identities: identities.count, buffers: parts.buffers.count))
        for identity in identities { result.append(identity) }
        forEachFrame(identities: EmptyCollection(), signature: signature, parts: parts) { frame, _ in
            result.append(Array(frame))
        }
        return result
    }
}
