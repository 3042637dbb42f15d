/// The kernelspecs a gateway offers: discovered once from the Jupyter search path, filtered by an allow-list.
///
/// An immutable `Sendable` snapshot; rebuild it with `discover` to pick up changes on disk. Lookups are pure
/// except `resourcePath`, which inspects the file system.
public struct KernelSpecCatalog: Sendable {
    /// Where and what to discover.
    public struct Configuration: Sendable {
        /// Directories that directly contain `<name>/kernel.json` (e.g. the repo's `kernelspecs/`), searched
        /// before the Jupyter path, in order.
        public var extraDirectories: [String]
        /// Kernel names that may be offered (compared lower-cased); empty means all.
        public var allowedNames: Set<String>
        /// The name to report as `default`; when nil or unavailable, `python3` if offered, else the first name.
        public var defaultKernelName: String?
        /// The Jupyter search path (built from the injected environment).
        public var paths: JupyterPaths

        /// Creates a configuration; `environment` is the gateway's environment used to compute the path.
        public init(
            environment: [String: String], extraDirectories: [String] = [], allowedNames: Set<String> = [],
            defaultKernelName: String? = nil, environmentPrefix: String? = nil
        ) {
            self.paths = JupyterPaths(environment: environment, environmentPrefix: environmentPrefix)
            self.extraDirectories = extraDirectories
            self.allowedNames = allowedNames
            self.defaultKernelName = defaultKernelName
        }
    }

    /// A kernelspec that was found but could not be loaded. It shadows same-named specs later on the path (an
    /// operator's broken override must not silently fall back to another program).
    public struct Problem: Sendable, Equatable {
        /// The (lower-cased) kernel name, or the raw directory name when the name itself is invalid.
        public let name: String
        /// The `kernel.json` at fault.
        public let specFile: String
        /// Why it could not be loaded; its message names `specFile`.
        public let error: KernelRuntimeError
    }

    /// The directories searched, in order: the extra directories, then `<data dir>/kernels` for each data dir.
    public let searchDirectories: [String]
    /// The usable specs by (lower-cased) name.
    public let specs: [String: KernelSpec]
    /// The specs that were found but could not be loaded, in discovery order.
    public let problems: [Problem]
    /// The default kernel name, or nil when no spec is usable.
    public let defaultName: String?

    /// Creates a catalog from parts (for tests and for callers that assemble specs themselves).
    public init(searchDirectories: [String] = [], specs: [String: KernelSpec], problems: [Problem] = [], defaultName: String?) {
        self.searchDirectories = searchDirectories
        self.specs = specs
        self.problems = problems
        self.defaultName = defaultName
    }

    /// The usable names, sorted.
    public var names: [String] { specs.keys.sorted() }

    /// Scans the search directories. For each `<dir>/<name>/kernel.json` the first occurrence of a name (compared
    /// lower-cased) wins, whether it loads or not; names off the allow-list are skipped without being read;
    /// directories without `kernel.json` are ignored, as Jupyter does. Never throws: unusable specs are listed
    /// in `problems`. Blocking file I/O; call at startup or from a control path.
    public static func discover(_ configuration: Configuration) -> KernelSpecCatalog {
        let directories = configuration.extraDirectories + configuration.paths.kernelSpecDirectories
        let allowed = Set(configuration.allowedNames.map { $0.lowercased() })
        var specs: [String: KernelSpec] = [:]
        var problems: [Problem] = []
        var seen: Set<String> = []
        for directory in directories {
            for entry in FileSystem.listDirectory(directory) {
                let specDirectory = FileSystem.join(directory, entry)
                let specFile = FileSystem.join(specDirectory, "kernel.json")
                guard FileSystem.kind(of: specDirectory, followSymlinks: true) == .directory,
                    FileSystem.kind(of: specFile, followSymlinks: true) != nil
                else { continue }
                let name = entry.lowercased()
                guard !seen.contains(name) else { continue }
                seen.insert(name)
                guard allowed.isEmpty || allowed.contains(name) else { continue }
                do {
                    specs[name] = try KernelSpec.load(name: entry, directory: specDirectory)
                } catch let error as KernelRuntimeError {
                    problems.append(Problem(name: name, specFile: specFile, error: error))
                } catch {
                    problems.append(
                        Problem(
                            name: name, specFile: specFile,
                            error: KernelRuntimeError(.brokenKernelSpec, "\(specFile): \(error)")))
                }
            }
        }
        let defaultName: String?
        if let wanted = configuration.defaultKernelName?.lowercased(), specs[wanted] != nil {
            defaultName = wanted
        } else if specs["python3"] != nil {
            defaultName = "python3"
        } else {
            defaultName = specs.keys.sorted().first
        }
        return KernelSpecCatalog(searchDirectories: directories, specs: specs, problems: problems, defaultName: defaultName)
    }

    /// The spec called `name` (case-insensitive). Throws `.brokenKernelSpec` (with the load error's message)
    /// when it was found but could not be loaded, `.noSuchKernelSpec` when it is unknown or not allowed.
    public func spec(named name: String) throws -> KernelSpec {
        let key = name.lowercased()
        if let spec = specs[key] { return spec }
        if let problem = problems.first(where: { $0.name == key }) {
            throw KernelRuntimeError(.brokenKernelSpec, "kernelspec '\(key)' is broken: \(problem.error.message)")
        }
        throw KernelRuntimeError(.noSuchKernelSpec, "no kernelspec named '\(name)'")
    }

    /// The path of resource `file` of kernelspec `kernel`, for `GET /kernelspecs/{kernel}/{file}`.
    ///
    /// Only a regular file directly inside the spec's directory qualifies: `file` must be a plain, non-hidden
    /// name (no `/`, no NUL, not starting with `.`), and after resolving symlinks the file must still be a
    /// direct child of the spec's (resolved) directory. Throws `.noSuchKernelSpec` or `.resourceNotFound`;
    /// the message never reveals file-system paths beyond the requested names.
    public func resourcePath(kernel: String, file: String) throws -> String {
        let spec = try self.spec(named: kernel)
        let notFound = KernelRuntimeError(.resourceNotFound, "kernelspec '\(spec.name)' has no resource '\(file)'")
        guard let resolved = FileSystem.resolveFileInside(directory: spec.resourceDirectory, file: file) else {
            throw notFound
        }
        return resolved
    }
}
