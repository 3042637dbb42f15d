import Basics
import JupyterProtocol

/// Builds, signs and sends the kernel's messages, reusing its buffers for every message.
///
/// Use: `begin()`, append the content dict to `content` (and optionally `metadata`), then `reply(_:to:on:)`
/// or `publish(_:parent:)`. Headers are written by byte appends: a random UUID `msg_id`, the type, the
/// kernel's username and session, the current UTC time and version 5.3.
///
/// iopub has ordinary PUB semantics: each subscriber has its own queue (`ZMQ_SNDHWM` messages) and only a
/// subscriber that falls that far behind loses messages, silently (the `%stream` hook numbers its messages so
/// loss can be detected). Waiting for room instead (`XPUB_NODROP`) was tried and rejected: one connected
/// subscriber that never reads would stall the kernel for everyone. One thread only.
final class MessageSender {
    /// Content dict being built (valid JSON object when sent).
    var content: [UInt8] = []
    /// Metadata dict being built; `{}` when left empty.
    var metadata: [UInt8] = []
    /// Raw buffers to send after the content (borrowed views; cleared by `begin()`).
    var buffers: [UnsafeRawBufferPointer] = []

    private let signer: HMACSigner
    private let iopub: KernelSocket
    /// `","username":"…","session":"…","date":"` between msg_type and the date.
    private let headerMiddle: [UInt8]
    /// `kernel.<session>.` iopub topic prefix, as ipykernel's `kernel.<id>.<msg_type>`.
    private let topicPrefix: [UInt8]
    private var header: [UInt8] = []
    private var topic: [UInt8] = []
    private var routing: [UnsafeRawBufferPointer] = []

    init(signer: HMACSigner, session: String, username: String, iopub: KernelSocket) {
        self.signer = signer
        self.iopub = iopub
        var middle: [UInt8] = []
        middle.appendASCII("\",\"username\":")
        middle.appendQuoted(username)
        middle.appendASCII(",\"session\":")
        middle.appendQuoted(session)
        middle.appendASCII(",\"date\":\"")
        headerMiddle = middle
        topicPrefix = Array("kernel.\(session).".utf8)
        content.reserveCapacity(4096)
        metadata.reserveCapacity(256)
        header.reserveCapacity(256)
        routing.reserveCapacity(4)
    }

    /// Clears `content` and `metadata` for a new message.
    @inline(__always)
    func begin() {
        content.removeAll(keepingCapacity: true)
        metadata.removeAll(keepingCapacity: true)
        buffers.removeAll(keepingCapacity: true)
    }

    /// Sends the built message as `type` to the routing identities of `request` on `socket`, with the
    /// request's header as parent. Returns the failure (already logged, except `.unreachable`), or nil.
    @discardableResult
    func reply(_ type: StaticString, to request: InboundMessage, on socket: KernelSocket) -> KernelSocket.SendFailure? {
        routing.removeAll(keepingCapacity: true)
        request.forEachIdentity { routing.append($0) }
        writeHeader(type)
        let failure = transmit(on: socket, parent: request.parts.header)
        routing.removeAll(keepingCapacity: true)
        if let failure {
            if case .unreachable = failure { return failure }
            Log.message("sending \(type) on \(socket.channel) failed: \(failure)")
        }
        return failure
    }

    /// Publishes the built message as `type` on iopub with `parent` as parent_header
    /// (`MessageParts.emptyObject` for none), topic `kernel.<session>.<type>`.
    func publish(_ type: StaticString, parent: UnsafeRawBufferPointer) {
        routing.removeAll(keepingCapacity: true)
        topic.removeAll(keepingCapacity: true)
        topic.append(contentsOf: topicPrefix)
        topic.appendASCII(type)
        writeHeader(type)
        let failure = topic.withUnsafeBytes { t in
            routing.append(t)
            defer { routing.removeAll(keepingCapacity: true) }
            return transmit(on: iopub, parent: parent)
        }
        if let failure { Log.message("publishing \(type) failed: \(failure)") }
    }

    /// Publishes `iopub_welcome` for a new subscription to `subscription` (ipykernel 7 behaviour).
    func publishWelcome(subscription: UnsafeRawBufferPointer) {
        begin()
        content.appendASCII("{\"subscription\":")
        content.appendQuoted(utf8: subscription)
        content.append(UInt8(ascii: "}"))
        writeHeader("iopub_welcome")
        routing.removeAll(keepingCapacity: true)
        // ipykernel sends it under the subscribed topic so the subscriber's filter lets it through.
        if subscription.count > 0 { routing.append(subscription) }
        if let failure = transmit(on: iopub, parent: MessageParts.emptyObject) {
            Log.message("publishing iopub_welcome failed: \(failure)")
        }
        routing.removeAll(keepingCapacity: true)
    }

    private func writeHeader(_ type: StaticString) {
        header.removeAll(keepingCapacity: true)
        header.appendASCII("{\"msg_id\":\"")
        MessageID.appendRandom(to: &header)
        header.appendASCII("\",\"msg_type\":\"")
        header.appendASCII(type)
        header.append(contentsOf: headerMiddle)
        UTCTimestamp.now().write(into: &header)
        header.appendASCII("\",\"version\":\"5.3\"}")
    }

    /// Signs and sends header/content/metadata built so far, to `routing`, with `parent`.
    private func transmit(on socket: KernelSocket, parent: UnsafeRawBufferPointer) -> KernelSocket.SendFailure? {
        if metadata.isEmpty { metadata.appendASCII("{}") }
        return header.withUnsafeBytes { h in
            metadata.withUnsafeBytes { m in
                content.withUnsafeBytes { c in
                    let parts = MessageParts(header: h, parentHeader: parent, metadata: m, content: c, buffers: buffers)
                    let signature: HMACSignature
                    do {
                        signature = try signer.sign(parts)
                    } catch {
                        return KernelSocket.SendFailure.failed(-1)
                    }
                    do throws(KernelSocket.SendFailure) {
                        try ZMQFrames.forEachFrame(identities: routing, signature: signature, parts: parts) {
                            (frame, more) throws(KernelSocket.SendFailure) in
                            try socket.send(frame, more: more)
                        }
                    } catch {
                        return error
                    }
                    return nil
                }
            }
        }
    }
}
