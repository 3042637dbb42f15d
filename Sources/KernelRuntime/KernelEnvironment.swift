import JSONValue

/// The environment a kernel process starts with, built in layers from a deliberately small base.
///
/// Jupyter's incumbents hand kernels the gateway's whole environment, leaking its token and configuration.
/// Here the layers are, later ones winning:
/// 1. `PATH`, `HOME`, `LANG` and the configured pass-through names, copied from the gateway's environment;
/// 2. the kernelspec's `env`, with `${VAR}` replaced from the gateway's environment (unknown → empty);
/// 3. client-supplied `KERNEL_*` variables (validated; other names are ignored and reported);
/// 4. gateway-forced variables (`KERNEL_USERNAME`, `KERNEL_ID`...) that clients cannot override.
/// Nothing else of the gateway's environment reaches the kernel. A pure value; build it with `build`.
public struct KernelEnvironment: Sendable, Equatable {
    /// What may pass, and the bounds on client-supplied variables.
    public struct Policy: Sendable, Equatable {
        /// Extra gateway variable names copied into every kernel's environment (besides `PATH`, `HOME`, `LANG`).
        public var passThrough: [String]
        /// The largest accepted client value, in UTF-8 bytes.
        public var maxClientValueBytes: Int
        /// The largest accepted client variable name, in UTF-8 bytes.
        public var maxClientNameBytes: Int
        /// The most client variables accepted in one request.
        public var maxClientVariables: Int

        /// Creates a policy; the defaults suit Jupyter clients (which send a handful of short `KERNEL_*` values).
        public init(passThrough: [String] = [], maxClientValueBytes: Int = 4096, maxClientNameBytes: Int = 256, maxClientVariables: Int = 100) {
            self.passThrough = passThrough
            self.maxClientValueBytes = maxClientValueBytes
            self.maxClientNameBytes = maxClientNameBytes
            self.maxClientVariables = maxClientVariables
        }
    }

    /// The variables always copied from the gateway's environment when set there.
    public static let baseVariables = ["PATH", "HOME", "LANG"]

    /// The final variables.
    public let variables: [String: String]
    /// Client-supplied names that were dropped because they do not start with `KERNEL_` (sorted). Clients such
    /// as Jupyter Server's GatewayClient forward extra variables; dropping them quietly is compatible, and the
    /// caller may log them.
    public let ignoredClientVariables: [String]

    /// The environment as `NAME=value` strings, sorted by name, ready for `envp`.
    public var envp: [String] {
        variables.keys.sorted().map { "\($0)=\(variables[$0] ?? "")" }
    }

    /// Builds the environment from the four layers described on the type.
    ///
    /// - Parameters:
    ///   - gateway: the gateway's own environment (injected; typically `ProcessInfo.processInfo.environment`).
    ///   - policy: the pass-through allow-list and client bounds.
    ///   - specEnv: the kernelspec's `env`.
    ///   - client: the `env` object of the client's request, values as parsed JSON.
    ///   - forced: variables the gateway sets last (e.g. `KERNEL_USERNAME`, `KERNEL_ID`).
    /// - Throws: `.invalidEnvironment` naming the first offending client variable (bad `KERNEL_` name,
    ///   non-string value, too long, NUL/CR/LF) or when there are too many.
    public static func build(
        gateway: [String: String], policy: Policy = Policy(), specEnv: [String: String] = [:],
        client: [String: JSONValue] = [:], forced: [String: String] = [:]
    ) throws -> KernelEnvironment {
        let (accepted, ignored) = try validateClientVariables(client, policy: policy)
        var variables: [String: String] = [:]
        for name in baseVariables + policy.passThrough {
            if let value = gateway[name] { variables[name] = value }
        }
        for (name, template) in specEnv {
            variables[name] = substitute(template, from: gateway)
        }
        variables.merge(accepted) { _, new in new }
        variables.merge(forced) { _, new in new }
        return KernelEnvironment(variables: variables, ignoredClientVariables: ignored)
    }

    /// Checks client-supplied variables. Returns the accepted `KERNEL_*` ones and the sorted names ignored for
    /// not starting with `KERNEL_`. Throws `.invalidEnvironment` naming the variable at fault.
    public static func validateClientVariables(
        _ client: [String: JSONValue], policy: Policy
    ) throws -> (accepted: [String: String], ignored: [String]) {
        guard client.count <= policy.maxClientVariables else {
            throw KernelRuntimeError(
                .invalidEnvironment, "too many environment variables (\(client.count), at most \(policy.maxClientVariables))")
        }
        var accepted: [String: String] = [:]
        var ignored: [String] = []
        for name in client.keys.sorted() {
            guard name.hasPrefix("KERNEL_") else {
                ignored.append(name)
                continue
            }
            guard isValidClientName(name), name.utf8.count <= policy.maxClientNameBytes else {
                throw KernelRuntimeError(
                    .invalidEnvironment,
                    "environment variable name '\(printable(name))' must match ^KERNEL_[A-Za-z0-9_]+$ (at most \(policy.maxClientNameBytes) bytes)")
            }
            guard case .string(let value)? = client[name] else {
                throw KernelRuntimeError(
                    .invalidEnvironment,
                    "environment variable '\(name)' must be a string, not \(client[name]?.kindName ?? "null")")
            }
            guard value.utf8.count <= policy.maxClientValueBytes else {
                throw KernelRuntimeError(
                    .invalidEnvironment,
                    "environment variable '\(name)' is longer than \(policy.maxClientValueBytes) bytes")
            }
            guard !value.utf8.contains(where: { $0 == 0 || $0 == 0x0a || $0 == 0x0d }) else {
                throw KernelRuntimeError(
                    .invalidEnvironment, "environment variable '\(name)' contains a NUL, CR or LF character")
            }
            accepted[name] = value
        }
        return (accepted, ignored)
    }

    /// Replaces each `${NAME}` in `template` with `values[NAME]`, or with nothing when unknown. Only the braced
    /// form is recognized; an unterminated `${` is kept literally.
    public static func substitute(_ template: String, from values: [String: String]) -> String {
        var output = ""
        var rest = Substring(template)
        while let start = rest.range(of: "${") {
            output += rest[..<start.lowerBound]
            let afterOpen = rest[start.upperBound...]
            guard let close = afterOpen.firstIndex(of: "}") else {
                output += rest[start.lowerBound...]
                return output
            }
            output += values[String(afterOpen[..<close])] ?? ""
            rest = afterOpen[afterOpen.index(after: close)...]
        }
        output += rest
        return output
    }

    static func isValidClientName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard bytes.count > 7, name.hasPrefix("KERNEL_") else { return false }
        return bytes.dropFirst(7).allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                return true
            default:
                return false
            }
        }
    }

    /// A name made safe to quote in a message (control characters escaped, length capped).
    private static func printable(_ name: String) -> String {
        let capped = name.unicodeScalars.prefix(80)
        return capped.map { $0.value < 0x20 || $0.value == 0x7f ? "\\u{\(String($0.value, radix: 16))}" : String($0) }
            .joined() + (name.unicodeScalars.count > 80 ? "..." : "")
    }
}
