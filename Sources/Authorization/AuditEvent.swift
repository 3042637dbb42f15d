import JupyterProtocol
/// One line of the audit log: who tried to do what to which resource, and what happened.
///
/// Has no field for a token, and the encoder additionally redacts anything token-like in the free-text
/// fields (see `AuditEncoder`). Time is supplied by the caller (this module reads no clock).
public struct AuditEvent: Sendable, Hashable {
    /// What happened to the attempt.
    public enum Outcome: String, Sendable, Hashable, CaseIterable {
        case allowed
        case denied
        /// The caller could not be authenticated (HTTP 401).
        case unauthenticated
        /// The operation was allowed but then failed.
        case failed
    }

    /// Milliseconds since the Unix epoch (UTC).
    public var timeMilliseconds: Int64
    /// The authenticated username; nil when authentication failed.
    public var user: String?
    /// `read`, `write`, `execute`, or an administrative verb such as `grant` or `authenticate`.
    public var action: String
    /// What was acted on, e.g. `kernels/<id>`, `kernels/<id>/shell/execute_request`, `kernelspecs/python3`.
    public var resource: String
    /// The outcome.
    public var outcome: Outcome
    /// Why, for denials and failures.
    public var reason: String?
    /// The client's address, if known.
    public var remoteAddress: String?

    /// Creates an event.
    public init(
        timeMilliseconds: Int64, user: String?, action: String, resource: String, outcome: Outcome,
        reason: String? = nil, remoteAddress: String? = nil
    ) {
        self.timeMilliseconds = timeMilliseconds
        self.user = user
        self.action = action
        self.resource = resource
        self.outcome = outcome
        self.reason = reason
        self.remoteAddress = remoteAddress
    }

    /// The event recording `decision` for `identity` performing `action` on `resource`.
    public init(
        timeMilliseconds: Int64, identity: Identity, action: Action, resource: String, decision: Decision,
        remoteAddress: String? = nil
    ) {
        self.init(
            timeMilliseconds: timeMilliseconds, user: identity.username, action: action.rawValue, resource: resource,
            outcome: decision.isAllowed ? .allowed : .denied, reason: decision.denial?.reason,
            remoteAddress: remoteAddress)
    }

    /// The event recording a channel message check.
    public init(
        timeMilliseconds: Int64, identity: Identity, kernelID: String, channel: Channel, msgType: String,
        decision: ChannelDecision, remoteAddress: String? = nil
    ) {
        var reason: String?
        if case .denied(let required, let had) = decision {
            reason = "\(msgType) on \(channel.name) needs \(required.name) access; you have \(had.name)"
        }
        self.init(
            timeMilliseconds: timeMilliseconds, user: identity.username, action: "execute",
            resource: "kernels/\(kernelID)/\(channel.name)/\(msgType)",
            outcome: decision.isAllowed ? .allowed : .denied, reason: reason, remoteAddress: remoteAddress)
    }
}
