/// A limit value that cannot be used: malformed, out of range, or above what is allowed. `message` names the
/// value; callers prefix where it came from (option, kernelspec file, policy path, request variable).
public struct LimitError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem it is.
    public enum Code: Sendable, Equatable {
        /// Not a size, core count or process count, or out of range.
        case invalidValue
        /// A request asked for more than the kernelspec, policy or gateway allow.
        case aboveAllowed
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
