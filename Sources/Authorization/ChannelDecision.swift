import JupyterProtocol
/// The outcome of checking one client message against the channel rules.
public enum ChannelDecision: Sendable, Hashable, CustomStringConvertible {
    case allowed
    /// The message needs `required` but the connection's user has `had` on this kernel.
    case denied(required: AccessLevel, had: AccessLevel)

    /// Whether the message may be forwarded to the kernel.
    @inlinable public var isAllowed: Bool { if case .allowed = self { true } else { false } }

    public var description: String {
        switch self {
        case .allowed: "allowed"
        case .denied(let required, let had): "denied(required: \(required), had: \(had))"
        }
    }
}
