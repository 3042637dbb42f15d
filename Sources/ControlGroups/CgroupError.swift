/// A cgroup operation that failed, with a message naming the file or directory and the system error.
public struct CgroupError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    /// The errno of the failed call, 0 when none.
    public let code: Int32

    public init(_ message: String, code: Int32 = 0) {
        self.message = message
        self.code = code
    }

    public var description: String { message }
}
