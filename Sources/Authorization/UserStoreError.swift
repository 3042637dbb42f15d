/// A refused change to a `UserStore` (as opposed to a bad file, which is `AuthorizationFileError`).
public struct UserStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Category; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let name: String
        public static let invalidUsername = Code(name: "invalid_username")
        public static let invalidRoleName = Code(name: "invalid_role_name")
        public static let unknownUser = Code(name: "unknown_user")
        public static let invalidUnixUser = Code(name: "invalid_unix_user")
        public var description: String { name }
    }

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
