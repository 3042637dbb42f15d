/// A refused grant change request (see `GrantChange`); the gateway answers it with 400 and `message`.
public struct GrantChangeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Category; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The code's stable spelling (`unknown_user`).
        public let name: String
        /// `user` is empty.
        public static let emptyUser = Code(name: "empty_user")
        /// `permission` is not read, execute or none.
        public static let invalidPermission = Code(name: "invalid_permission")
        /// The users file has no such user.
        public static let unknownUser = Code(name: "unknown_user")
        public var description: String { name }
    }

    /// What kind of problem.
    public var code: Code
    /// What was wrong, naming the offending value.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
