import JupyterProtocol

/// A received ZeroMQ multipart held at stable addresses, as the gateway sees it after `zmq_msg_recv`:
/// one borrowed view per frame. Immutable after creation.
final class FrameList {
    /// The frames as arrays (for building variants, e.g. a tampered copy).
    let owned: [[UInt8]]
    /// One view per frame, valid for the life of this object.
    let views: [UnsafeRawBufferPointer]
    /// Where the message sits among the frames.
    let layout: ZMQFrameLayout
    /// Total bytes over all frames.
    let totalBytes: Int
    private let storage: [StableBytes]

    /// Copies `frames`; throws if they are not a Jupyter message (no delimiter, too few frames).
    init(_ frames: [[UInt8]]) throws(ProtocolError) {
        owned = frames
        storage = frames.map(StableBytes.init)
        views = storage.map(\.bytes)
        layout = try ZMQFrameLayout.parse(frames)
        totalBytes = frames.reduce(0) { $0 + $1.count }
    }

    /// The four dicts (and buffers) as borrowed parts.
    var parts: MessageParts { layout.parts(of: views) }

    /// Bytes covered by the signature (the four dicts).
    var signedBytes: Int {
        views[layout.header].count + views[layout.parentHeader].count + views[layout.metadata].count
            + views[layout.content].count
    }
}
