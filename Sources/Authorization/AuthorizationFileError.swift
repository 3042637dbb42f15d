/// A users file or policy file that cannot be accepted. The message names the file and the field.
public struct AuthorizationFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Category; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let name: String
        /// Not well-formed JSON (the message gives the byte offset).
        public static let invalidJSON = Code(name: "invalid_json")
        /// A required field is absent.
        public static let missingField = Code(name: "missing_field")
        /// A field has the wrong JSON type.
        public static let wrongType = Code(name: "wrong_type")
        /// A field has the right type but an unacceptable value.
        public static let invalidValue = Code(name: "invalid_value")
        /// A field the format does not define (often a typo).
        public static let unknownField = Code(name: "unknown_field")
        /// The same user, key or token digest appears twice.
        public static let duplicate = Code(name: "duplicate")
        /// The `version` is not one this code reads.
        public static let unsupportedVersion = Code(name: "unsupported_version")
        public var description: String { name }
    }

    public var code: Code
    /// Which file: "users file" or "policy file".
    public var file: String
    /// The field path, like `users[2].roles[0]`; empty for the whole document.
    public var field: String
    /// What is wrong, in words.
    public var detail: String

    /// Creates an error.
    public init(_ code: Code, file: String, field: String, _ detail: String) {
        self.code = code
        self.file = file
        self.field = field
        self.detail = detail
    }

    /// `"<file>: <field>: <detail>"`.
    public var message: String { field.isEmpty ? "\(file): \(detail)" : "\(file): \(field): \(detail)" }

    public var description: String { message }
}
