/// What a caller wants to do to a resource, in Jupyter Server's vocabulary.
///
/// - `read`: GET/HEAD requests, and observing a kernel (connecting, receiving output, harmless queries).
/// - `write`: POST/PUT/PATCH/DELETE requests (create, change, delete).
/// - `execute`: traffic that changes a kernel's state, sent over the channels (code, comms, interrupts).
public enum Action: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case read
    case write
    case execute

    /// The action Jupyter Server associates with an HTTP method: GET/HEAD/OPTIONS are `read`, every other
    /// method is `write`. Method names are matched case-sensitively, as HTTP requires.
    public init(httpMethod: String) {
        switch httpMethod {
        case "GET", "HEAD", "OPTIONS": self = .read
        default: self = .write
        }
    }

    /// The single-bit set containing only this action.
    public var asSet: ActionSet {
        switch self {
        case .read: .read
        case .write: .write
        case .execute: .execute
        }
    }

    public var description: String { rawValue }
}
