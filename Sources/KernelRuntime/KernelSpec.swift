import JSONValue
import ResourceLimits

/// One kernelspec: the validated contents of a `kernel.json` plus where it lives.
///
/// Values are immutable and `Sendable`; load them with `KernelSpec.load(name:directory:)` or through
/// `KernelSpecCatalog`. The REST layer serves `specJSON()` as the `spec` object of `/api/kernelspecs`.
public struct KernelSpec: Sendable, Equatable {
    /// How a kernel wants to be interrupted (`interrupt_mode` in `kernel.json`).
    public enum InterruptMode: String, Sendable, Equatable {
        /// SIGINT to the kernel's process group (the default).
        case signal
        /// An `interrupt_request` on the control channel.
        case message
    }

    /// The resource files Jupyter frontends look for beside `kernel.json`, in a stable order.
    public static let knownResourceFiles = ["logo-32x32.png", "logo-64x64.png", "logo-svg.svg", "kernel.js", "kernel.css"]

    /// The largest `kernel.json` accepted; real ones are a few hundred bytes.
    public static let maxSpecFileBytes = 1 << 20

    /// The kernel name (the directory name, lower-cased), matching `^[a-z0-9._-]+$`.
    public let name: String
    /// The spec's directory (`resource_dir`), as found on the search path (not canonicalized).
    public let resourceDirectory: String
    /// The path of the `kernel.json` this spec was read from; errors about the spec name it.
    public let specFile: String
    /// The command line template; never empty, every element a string.
    public let argv: [String]
    /// `display_name`; empty when absent (as in jupyter_client).
    public let displayName: String
    /// `language`; empty when absent.
    public let language: String
    /// `env`: variables to add to the kernel's environment; values may contain `${VAR}`.
    public let env: [String: String]
    /// `interrupt_mode`, `.signal` when absent.
    public let interruptMode: InterruptMode
    /// `metadata`, kept verbatim; an empty object when absent.
    public let metadata: JSONValue
    /// `kernel_protocol_version` when present.
    public let kernelProtocolVersion: String?
    /// Resource limits of this spec's kernels, from `metadata.kernel_gateway` (`memory_limit`, `cpu_limit`,
    /// `pids_limit`); they replace the gateway's `--kernel-*-limit` defaults, under the policy's ceilings.
    public let limits: ResourceLimits

    /// The `metadata` key holding the gateway's settings for a kernelspec.
    public static let gatewayMetadataKey = "kernel_gateway"
    /// Names of the resource files present in `resourceDirectory`: the known ones plus any other `logo-*` file,
    /// sorted; only files `KernelSpecCatalog.resourcePath` would serve (regular, not escaping the directory).
    public let resourceFiles: [String]

    /// Creates a spec from already-validated parts (used by tests and by callers that build specs in code).
    /// The name is not checked here; `load` and `parse` check it.
    public init(
        name: String, resourceDirectory: String, specFile: String, argv: [String], displayName: String = "",
        language: String = "", env: [String: String] = [:], interruptMode: InterruptMode = .signal,
        metadata: JSONValue = .object([:]), kernelProtocolVersion: String? = nil, resourceFiles: [String] = [],
        limits: ResourceLimits = .none
    ) {
        self.limits = limits
        self.name = name
        self.resourceDirectory = resourceDirectory
        self.specFile = specFile
        self.argv = argv
        self.displayName = displayName
        self.language = language
        self.env = env
        self.interruptMode = interruptMode
        self.metadata = metadata
        self.kernelProtocolVersion = kernelProtocolVersion
        self.resourceFiles = resourceFiles
    }

    /// True when `name` is a valid kernel name: non-empty, only ASCII letters, digits, `.`, `_` and `-`.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }

    /// Loads `<directory>/kernel.json` as the spec called `name` and lists its resource files.
    ///
    /// Throws `KernelRuntimeError` naming the file: `.invalidKernelName`, `.fileUnreadable`, `.invalidJSON` or
    /// `.invalidKernelSpec`. Blocking file I/O; call from a control path.
    public static func load(name: String, directory: String) throws -> KernelSpec {
        let specFile = FileSystem.join(directory, "kernel.json")
        guard isValidName(name) else {
            throw KernelRuntimeError(
                .invalidKernelName, "\(specFile): kernel name '\(name)' must match ^[a-z0-9._-]+$")
        }
        let bytes = try FileSystem.readFile(specFile, maxBytes: maxSpecFileBytes)
        let resources = FileSystem.listDirectory(directory).filter { file in
            (knownResourceFiles.contains(file) || file.hasPrefix("logo-"))
                && FileSystem.resolveFileInside(directory: directory, file: file) != nil
        }
        return try parse(bytes, name: name, directory: directory, specFile: specFile, resourceFiles: resources)
    }

    /// Validates the bytes of a `kernel.json`. Pure; `specFile` is only used in error messages and stored.
    ///
    /// Throws `.invalidKernelName`, `.invalidJSON` (not JSON, or not an object) or `.invalidKernelSpec`
    /// (missing/empty argv, non-string argv element, non-string env value, bad interrupt_mode, wrong types).
    public static func parse(
        _ bytes: [UInt8], name: String, directory: String, specFile: String, resourceFiles: [String] = []
    ) throws -> KernelSpec {
        guard isValidName(name) else {
            throw KernelRuntimeError(
                .invalidKernelName, "\(specFile): kernel name '\(name)' must match ^[a-z0-9._-]+$")
        }
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes)
        } catch {
            throw KernelRuntimeError(.invalidJSON, "\(specFile): not valid JSON (\(error))")
        }
        guard case .object(let object) = document else {
            throw KernelRuntimeError(.invalidJSON, "\(specFile): top level must be a JSON object")
        }
        func invalid(_ text: String) -> KernelRuntimeError {
            KernelRuntimeError(.invalidKernelSpec, "\(specFile): \(text)")
        }
        func optionalString(_ key: String) throws -> String? {
            switch object[key] {
            case nil, .null?: return nil
            case .string(let value)?: return value
            case let other?: throw invalid("'\(key)' must be a string, not \(other.kindName)")
            }
        }

        guard let argvValue = object["argv"] else { throw invalid("'argv' is missing") }
        guard case .array(let argvItems) = argvValue else {
            throw invalid("'argv' must be an array of strings, not \(argvValue.kindName)")
        }
        guard !argvItems.isEmpty else { throw invalid("'argv' is empty") }
        var argv: [String] = []
        for (index, item) in argvItems.enumerated() {
            guard case .string(let arg) = item else {
                throw invalid("argv[\(index)] must be a string, not \(item.kindName)")
            }
            argv.append(arg)
        }
        guard !argv[0].isEmpty else { throw invalid("argv[0] is an empty string") }

        var env: [String: String] = [:]
        switch object["env"] {
        case nil, .null?: break
        case .object(let entries)?:
            for (key, value) in entries {
                guard case .string(let text) = value else {
                    throw invalid("env '\(key)' must be a string, not \(value.kindName)")
                }
                guard !key.isEmpty, !key.utf8.contains(UInt8(ascii: "=")), !key.utf8.contains(0),
                    !text.utf8.contains(0)
                else { throw invalid("env '\(key)' is not a valid environment variable") }
                env[key] = text
            }
        case let other?: throw invalid("'env' must be an object, not \(other.kindName)")
        }

        let interruptMode: InterruptMode
        switch try optionalString("interrupt_mode") {
        case nil: interruptMode = .signal
        case let text?:
            guard let mode = InterruptMode(rawValue: text) else {
                throw invalid("'interrupt_mode' must be \"signal\" or \"message\", not \"\(text)\"")
            }
            interruptMode = mode
        }

        let metadata: JSONValue
        switch object["metadata"] {
        case nil, .null?: metadata = .object([:])
        case .object(let value)?: metadata = .object(value)
        case let other?: throw invalid("'metadata' must be an object, not \(other.kindName)")
        }

        var limits = ResourceLimits.none
        switch metadata.objectValue?[Self.gatewayMetadataKey] {
        case nil: break
        case .object(let settings)?:
            do throws(LimitError) { limits = try ResourceLimits(json: settings) } catch {
                throw invalid("metadata.\(Self.gatewayMetadataKey).\(error.message)")
            }
        case let other?: throw invalid("'metadata.\(Self.gatewayMetadataKey)' must be an object, not \(other.kindName)")
        }

        let protocolVersion: String?
        switch object["kernel_protocol_version"] {
        case .integer(let number)?: protocolVersion = String(number)
        case .double(let number)?: protocolVersion = String(number)
        default: protocolVersion = try optionalString("kernel_protocol_version")
        }

        return KernelSpec(
            name: name.lowercased(), resourceDirectory: directory, specFile: specFile, argv: argv,
            displayName: try optionalString("display_name") ?? "", language: try optionalString("language") ?? "",
            env: env, interruptMode: interruptMode, metadata: metadata, kernelProtocolVersion: protocolVersion,
            resourceFiles: resourceFiles, limits: limits)
    }

    /// The normalized `kernel.json` object served as `spec` by `/api/kernelspecs`: `argv`, `display_name`,
    /// `language`, `env`, `interrupt_mode`, `metadata`, and `kernel_protocol_version` when present.
    public func specJSON() -> JSONValue {
        var object: JSONObject = [
            "argv": .array(argv.map { .string($0) }),
            "display_name": .string(displayName),
            "language": .string(language),
            "env": .object(JSONObject(env.mapValues { .string($0) })),
            "interrupt_mode": .string(interruptMode.rawValue),
            "metadata": metadata,
        ]
        if let kernelProtocolVersion { object["kernel_protocol_version"] = .string(kernelProtocolVersion) }
        return .object(object)
    }

    /// The `resources` map of the REST model: resource key to file name, where the key of a `logo-*` file is
    /// its name without extension (`logo-64x64`) and `kernel.js` / `kernel.css` keep their names (as Jupyter
    /// Server does). The REST layer turns each file name into `<base>/kernelspecs/<name>/<file>`.
    public func resourceKeys() -> [String: String] {
        var keys: [String: String] = [:]
        for file in resourceFiles {
            if file.hasPrefix("logo-") {
                // Like Python's os.path.splitext: drop the text after the last dot.
                let stem = file.lastIndex(of: ".").map { String(file[..<$0]) } ?? file
                keys[stem] = file
            } else if file == "kernel.js" || file == "kernel.css" {
                keys[file] = file
            }
        }
        return keys
    }
}
