/// How much a caller may do with one kernel, ordered: every level includes the ones below it.
///
/// - `none`: the kernel is invisible to the caller (HTTP answers 404).
/// - `read`: see the kernel, connect, watch what it broadcasts, and ask questions that reveal nothing beyond
///   that (`kernel_info_request`, `is_complete_request`, `comm_info_request`).
/// - `execute`: also send code, comms, input and interrupts, and ask about the kernel's state (inspect,
///   complete, history).
/// - `owner`: also delete, restart over REST and change who else has access.
///
/// Raw values are stable and small so a cached level compares in one instruction on the message path.
public enum AccessLevel: UInt8, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    case none = 0
    case read = 1
    case execute = 2
    case owner = 3

    /// Parses the spelling used in the policy file and grant requests: "none", "read", "execute", "owner".
    public init?(name: String) {
        switch name {
        case "none": self = .none
        case "read": self = .read
        case "execute": self = .execute
        case "owner": self = .owner
        default: return nil
        }
    }

    /// The spelling used in files and messages.
    public var name: String {
        switch self {
        case .none: "none"
        case .read: "read"
        case .execute: "execute"
        case .owner: "owner"
        }
    }

    @inlinable public static func < (lhs: AccessLevel, rhs: AccessLevel) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { name }
}
