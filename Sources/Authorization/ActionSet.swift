/// A set of `Action`s stored as a bit mask, so a role's permissions on a resource type are one byte and a
/// check is one AND.
public struct ActionSet: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt8

    /// Creates a set from its bit mask (bit 0 read, bit 1 write, bit 2 execute).
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let read = ActionSet(rawValue: 1)
    public static let write = ActionSet(rawValue: 2)
    public static let execute = ActionSet(rawValue: 4)
    public static let all: ActionSet = [.read, .write, .execute]

    /// Whether `action` is in the set.
    @inlinable public func allows(_ action: Action) -> Bool { contains(action.asSet) }

    /// The actions in the set, in the fixed order read, write, execute.
    public var actions: [Action] { Action.allCases.filter { allows($0) } }

    public var description: String { "[" + actions.map(\.rawValue).joined(separator: ",") + "]" }
}
