import ChildProcesses

/// Everything needed to start one kernel process: the resolved executable, the templated argv and the envp.
///
/// Pure: built from a spec, a connection-file path and a `KernelEnvironment`, with file checks injected, so
/// it is tested without touching the disk. The launcher hands `executablePath`, `arguments` and `envp` to
/// `posix_spawn` (in a new process group).
public struct LaunchPlan: Sendable, Equatable {
    /// The default `{prefix}`: jupyter_client substitutes `sys.prefix`; the gateway has none, so `/usr`.
    public static let defaultPrefix = "/usr"
    /// The search path used when the kernel's environment has no `PATH`.
    public static let fallbackSearchPath = "/usr/local/bin:/usr/bin:/bin"

    /// The absolute (or, when argv[0] contained a slash, as-given) path of the program to execute.
    public let executablePath: String
    /// The full argv, templated, with argv[0] as written in the spec (programs may look at their argv[0]).
    public let arguments: [String]
    /// The kernel's environment variables.
    public let environment: [String: String]
    /// The account and process attributes the child takes before exec (kernel isolation), or nil to inherit
    /// the gateway's.
    public let identity: ProcessIdentity?

    /// The environment as sorted `NAME=value` strings.
    public var envp: [String] {
        environment.keys.sorted().map { "\($0)=\(environment[$0] ?? "")" }
    }

    /// Creates a plan from explicit parts (tests, and callers that resolved the program themselves).
    public init(executablePath: String, arguments: [String], environment: [String: String],
                identity: ProcessIdentity? = nil) {
        self.executablePath = executablePath
        self.arguments = arguments
        self.environment = environment
        self.identity = identity
    }

    /// Builds the launch plan of `spec`.
    ///
    /// Each argv element has `{connection_file}`, `{resource_dir}` and `{prefix}` replaced (other `{...}` are
    /// left as they are, as jupyter_client does). argv[0] containing `/` is used as is; otherwise it is looked
    /// up in the `PATH` of the kernel's environment (or `fallbackSearchPath`), skipping empty and relative
    /// entries. `isExecutable` answers whether a path is an executable regular file; pass
    /// `LaunchPlan.isExecutableFile` in production.
    ///
    /// Throws `.executableNotFound` with message "<spec file>: argv[0] 'x' not found ..." when no executable
    /// file is found.
    public static func make(
        spec: KernelSpec, connectionFile: String, environment: KernelEnvironment, prefix: String = defaultPrefix,
        isExecutable: (String) -> Bool
    ) throws -> LaunchPlan {
        let values = ["connection_file": connectionFile, "resource_dir": spec.resourceDirectory, "prefix": prefix]
        let arguments = spec.argv.map { substitutePlaceholders($0, values: values) }
        let program = arguments.first ?? ""
        let variables = environment.variables
        let executable: String
        if program.contains("/") {
            guard isExecutable(program) else {
                throw KernelRuntimeError(
                    .executableNotFound, "\(spec.specFile): argv[0] '\(program)' not found or not executable")
            }
            executable = program
        } else {
            let searchPath = variables["PATH"].flatMap { $0.isEmpty ? nil : $0 } ?? fallbackSearchPath
            let candidates = searchPath.split(separator: ":", omittingEmptySubsequences: true)
                .filter { $0.hasPrefix("/") }
                .map { FileSystem.join(String($0), program) }
            guard !program.isEmpty, let found = candidates.first(where: isExecutable) else {
                throw KernelRuntimeError(
                    .executableNotFound,
                    "\(spec.specFile): argv[0] '\(program)' not found on the kernel's PATH (\(searchPath))")
            }
            executable = found
        }
        return LaunchPlan(executablePath: executable, arguments: arguments, environment: variables)
    }

    /// The production file check: an existing regular file (after symlinks) the gateway may execute.
    public static func isExecutableFile(_ path: String) -> Bool {
        FileSystem.isExecutableFile(path)
    }

    /// Replaces `{name}` with `values[name]` where `name` is `[A-Za-z0-9_]+` and known; leaves other text alone.
    static func substitutePlaceholders(_ text: String, values: [String: String]) -> String {
        var output = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            output += rest[..<open]
            let afterOpen = rest[rest.index(after: open)...]
            if let close = afterOpen.firstIndex(of: "}"),
                case let name = String(afterOpen[..<close]),
                !name.isEmpty,
                name.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0) || (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) }),
                let value = values[name]
            {
                output += value
                rest = afterOpen[afterOpen.index(after: close)...]
            } else {
                output += "{"
                rest = afterOpen
            }
        }
        output += rest
        return output
    }
}
