import JupyterProtocol

/// The gateway's kernel-to-client message path, minus the socket calls: find the message in the received
/// ZeroMQ frames, verify its signature, and encode it for the client's WebSocket format into a reused
/// buffer. The legacy encoder scans the header itself (it copies `msg_id` and `msg_type` out of it).
///
/// Owns the HMAC context and the output buffer: one instance per kernel, one thread.
final class OutboundPipeline {
    /// The client's WebSocket format.
    enum Format {
        case legacy, v1
    }

    let signer: HMACSigner
    /// The encoded frame of the message in flight.
    private(set) var out: [UInt8] = []

    init(signer: HMACSigner) {
        self.signer = signer
        out.reserveCapacity(16 * 1024)
    }

    /// Relays one received multipart; returns the encoded frame's size, or nil for a bad signature.
    func relay(_ frames: [UnsafeRawBufferPointer], channel: Channel, format: Format) throws(ProtocolError) -> Int? {
        let layout = try ZMQFrameLayout.parse(frameCount: frames.count) { frames[$0] }
        let parts = layout.parts(of: frames)
        guard signer.verify(frames[layout.signature], parts: parts) else { return nil }
        out.removeAll(keepingCapacity: true)
        switch format {
        case .v1: V1WebSocketCodec.encode(channel: channel, parts: parts, into: &out)
        case .legacy: try LegacyWebSocketCodec.encode(channel: channel, parts: parts, into: &out)
        }
        return out.count
    }
}
