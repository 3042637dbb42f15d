import Authorization
import JupyterProtocol

extension ChannelRouter {
    /// Why a client message was not forwarded. The owner answers with `GatewayMessages.errorReply` carrying
    /// `ename` and `evalue`, parented to the request (docs/operations.md, "Errors on the channel").
    package enum Rejection: Equatable, Sendable {
        /// The frame could not be decoded (`detail`: the decoder's message).
        case undecodable(detail: String)
        /// `header.msg_type` or `header.msg_id` is absent.
        case missingTypeOrID
        /// Clients may not send on iopub or hb.
        case clientChannel(Channel)
        /// The channel rules refuse the message to this user.
        case denied(username: String, msgType: String, channel: Channel, required: AccessLevel,
                    had: AccessLevel, kernelID: String)
        /// `header.msg_id` is not a non-empty string of at most `maxBytes` bytes.
        case invalidMessageID(maxBytes: Int)
        /// Another session has a request with this `msg_id` waiting for its reply.
        case messageIDInUse(String)
        /// The session already has `limit` requests waiting for replies.
        case tooManyRequests(limit: Int)
        /// `header.username` could not be stamped (`detail`: the rewriter's message). Made by the owner.
        case rewriteFailed(detail: String)
        /// A reader's message is larger than `limit` bytes (`ReaderLimits.maxMessageBytes`).
        case readerMessageTooLarge(limit: Int)
        /// A reader's connection sent faster than `perSecond` messages a second (after a burst of `burst`).
        case readerRateLimited(perSecond: Int, burst: Int)
        /// The kernel's send queue is full.
        case kernelBusy
        /// The kernel is not running (or is shutting down).
        case kernelNotRunning(kernelID: String)

        /// The error reply's `ename`.
        package var ename: String {
            switch self {
            case .denied: "PermissionDenied"
            case .tooManyRequests: "TooManyRequests"
            case .readerMessageTooLarge: "MessageTooLarge"
            case .readerRateLimited: "RateLimited"
            case .kernelBusy: "KernelBusy"
            case .kernelNotRunning: "KernelNotRunning"
            case .undecodable, .missingTypeOrID, .clientChannel, .invalidMessageID, .messageIDInUse, .rewriteFailed:
                "ProtocolError"
            }
        }

        /// The error reply's `evalue`.
        package var evalue: String {
            switch self {
            case .undecodable(let detail):
                "the gateway could not decode this message: \(detail)"
            case .missingTypeOrID:
                "header.msg_type and header.msg_id are required"
            case .clientChannel(let channel):
                "clients cannot send on the \(channel.rawValue) channel"
            case .denied(let username, let msgType, let channel, let required, let had, let kernelID):
                "\(username) may not send \(msgType) on \(channel.name): it needs \(required.name) access to kernel \(kernelID), and you have \(had.name)"
            case .invalidMessageID(let maxBytes):
                "header.msg_id must be a non-empty string of at most \(maxBytes) bytes"
            case .messageIDInUse(let msgID):
                "msg_id \(msgID) is already in use by another session; use a fresh id per request"
            case .tooManyRequests(let limit):
                "more than \(limit) requests are waiting for replies"
            case .rewriteFailed(let detail):
                "cannot rewrite the header: \(detail)"
            case .readerMessageTooLarge(let limit):
                "messages from users with read access are limited to \(limit) bytes"
            case .readerRateLimited(let perSecond, let burst):
                "users with read access may send \(perSecond) messages a second (bursts of \(burst)); slow down"
            case .kernelBusy:
                "the kernel is not reading its messages; try again later"
            case .kernelNotRunning(let kernelID):
                "kernel \(kernelID) is not running"
            }
        }

        /// Whether the reply is followed by an iopub `status: idle` parented to the request (when the request's
        /// type ends in `_request`), so frontends waiting for idle complete it.
        package var idleAfter: Bool {
            switch self {
            case .denied, .readerMessageTooLarge, .readerRateLimited, .kernelBusy, .kernelNotRunning: true
            default: false
            }
        }

        /// Whether the reply is typed after the request (`X_reply` for `X_request`); otherwise it is an `error`
        /// message, because the request's type could not be read or trusted.
        package var answersRequestType: Bool {
            switch self {
            case .undecodable, .missingTypeOrID, .rewriteFailed: false
            default: true
            }
        }

        /// The decision to write to the audit log, for denials.
        package var auditDecision: ChannelDecision? {
            if case .denied(_, _, _, let required, let had, _) = self { return .denied(required: required, had: had) }
            return nil
        }
    }
}
