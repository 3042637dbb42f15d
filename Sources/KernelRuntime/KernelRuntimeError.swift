/// Every failure reported by the KernelRuntime module.
///
/// A struct with a nested `Code` (rather than an enum) so new codes can be added without breaking callers that
/// switch over them. `message` is a complete, human-readable sentence meant for logs and for the `message`
/// field of REST error bodies; it names the file or variable at fault when there is one.
public struct KernelRuntimeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The category of a failure. Compare with the static members (`error.code == .invalidJSON`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// A stable, machine-readable name such as `"invalid_json"`.
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A file could not be read (missing, unreadable, too large, not a regular file).
        public static let fileUnreadable = Code("file_unreadable")
        /// `kernel.json` (or another JSON document) is not valid JSON or is not an object.
        public static let invalidJSON = Code("invalid_json")
        /// `kernel.json` is valid JSON but a field has the wrong type or value (argv, env, interrupt_mode...).
        public static let invalidKernelSpec = Code("invalid_kernel_spec")
        /// A kernel name does not match `^[a-z0-9._-]+$` (case-insensitively).
        public static let invalidKernelName = Code("invalid_kernel_name")
        /// No kernelspec of that name is known (or it is not on the allow-list).
        public static let noSuchKernelSpec = Code("no_such_kernel_spec")
        /// A kernelspec of that name exists but could not be loaded.
        public static let brokenKernelSpec = Code("broken_kernel_spec")
        /// A requested kernelspec resource is not a servable file of that spec's directory.
        public static let resourceNotFound = Code("resource_not_found")
        /// A client-supplied environment variable was rejected.
        public static let invalidEnvironment = Code("invalid_environment")
        /// `argv[0]` of a kernelspec could not be resolved to an executable file.
        public static let executableNotFound = Code("executable_not_found")
        /// A socket, file or directory operation failed; the message carries the `errno` text.
        public static let systemCallFailed = Code("system_call_failed")
        /// A connection file already exists, or a kernel id is unusable in a file name.
        public static let connectionFile = Code("connection_file")
        /// Kernel isolation refused a launch: the user has no usable Unix account, or a directory is unsafe.
        public static let isolation = Code("isolation")
    }

    /// What kind of failure this is.
    public let code: Code
    /// A full sentence describing the failure, naming the file or variable at fault.
    public let message: String

    /// Creates an error. `message` should be a full sentence that names what is at fault.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
