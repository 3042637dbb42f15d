/// Bounds on what a peer may send; a peer that exceeds one is dropped with a protocol error. Kernels are
/// untrusted, so every size announced on the wire is checked against these before memory is reserved for it.
public struct ZMTPLimits: Sendable, Equatable {
    /// Total body bytes of one multipart message (all frames). Default 256 MiB.
    public var maxMessageBytes: Int
    /// Frames in one multipart message. Default 100,000.
    public var maxFramesPerMessage: Int
    /// Body bytes of one command frame (READY with its properties, PING...). Default 64 KiB.
    public var maxCommandBytes: Int

    public init(maxMessageBytes: Int = 256 << 20, maxFramesPerMessage: Int = 100_000, maxCommandBytes: Int = 64 << 10) {
        self.maxMessageBytes = max(0, maxMessageBytes)
        self.maxFramesPerMessage = max(1, maxFramesPerMessage)
        self.maxCommandBytes = max(0, maxCommandBytes)
    }
}
