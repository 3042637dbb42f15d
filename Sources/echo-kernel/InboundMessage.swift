import JupyterProtocol

/// A received, signature-checked Jupyter message: borrowed views into its socket's `FrameBuffer`.
///
/// Valid only until that buffer receives again; never stored beyond the handling of the message.
struct InboundMessage {
    /// Channel it arrived on.
    let channel: Channel
    let frames: FrameBuffer
    let layout: ZMQFrameLayout
    /// The four signed dict parts.
    let parts: MessageParts
    /// Positions of msg_id / msg_type / session / username inside `parts.header`.
    let fields: HeaderFields
    /// The classified `msg_type`.
    let type: RequestType

    /// Why a frame list was not accepted.
    enum Rejection: Error, CustomStringConvertible {
        case malformed(ProtocolError)
        case badSignature

        var description: String {
            switch self {
            case .malformed(let error): return "malformed message: \(error)"
            case .badSignature: return "bad signature"
            }
        }
    }

    /// Parses and verifies the message held in `frames`. Throws `.badSignature` when the HMAC does not match
    /// (checked before anything else is parsed) or `.malformed` for a bad frame list or header.
    init(channel: Channel, frames: FrameBuffer, signer: HMACSigner) throws(Rejection) {
        do {
            layout = try ZMQFrameLayout.parse(frameCount: frames.frameCount) { frames.frame($0) }
        } catch {
            throw .malformed(error)
        }
        parts = MessageParts(
            header: frames.frame(layout.header), parentHeader: frames.frame(layout.parentHeader),
            metadata: frames.frame(layout.metadata), content: frames.frame(layout.content))
        guard signer.verify(frames.frame(layout.signature), parts: parts) else { throw .badSignature }
        do {
            fields = try HeaderFields.scan(parts.header)
        } catch {
            throw .malformed(error)
        }
        self.channel = channel
        self.frames = frames
        type = RequestType(scanner: JSONScanner(parts.header), token: fields.msgType)
    }

    /// The raw `msg_type` token (with quotes), or nil.
    var msgTypeToken: UnsafeRawBufferPointer? { token(fields.msgType) }
    /// The raw `username` token (with quotes), or nil.
    var usernameToken: UnsafeRawBufferPointer? { token(fields.username) }

    private func token(_ t: JSONStringToken?) -> UnsafeRawBufferPointer? {
        guard let t else { return nil }
        return UnsafeRawBufferPointer(rebasing: parts.header[t.range])
    }

    /// Calls `body` with every routing identity frame, in order.
    func forEachIdentity(_ body: (UnsafeRawBufferPointer) -> Void) {
        for i in layout.identities { body(frames.frame(i)) }
    }

    /// The message's `msg_type` for logs (allocates).
    var typeName: String {
        guard let t = msgTypeToken else { return "<none>" }
        return String(decoding: t, as: UTF8.self)
    }
}
