/// Jupyter's standard directories, computed from an injected environment dictionary (never from the process
/// environment directly, so callers and tests control it).
///
/// Mirrors `jupyter_core.paths` on Linux: `jupyter_data_dir`, `jupyter_runtime_dir` and `jupyter_path`.
public struct JupyterPaths: Sendable, Equatable {
    /// The system-wide data directories, searched last.
    public static let systemDataDirectories = ["/usr/local/share/jupyter", "/usr/share/jupyter"]

    /// The environment the paths are computed from (typically the gateway's environment).
    public let environment: [String: String]
    /// A `sys.prefix`-like directory whose `share/jupyter` is searched (nil: none).
    public let environmentPrefix: String?
    /// Whether the prefix's data dir goes before the user data dir when `JUPYTER_PREFER_ENV_PATH` is unset.
    public let preferEnvironmentPathByDefault: Bool

    /// Creates the path set for `environment`. `environmentPrefix` is e.g. a virtualenv; when
    /// `preferEnvironmentPathByDefault` is true (as jupyter_core does inside a virtualenv) its data dir is
    /// searched before the user's, unless `JUPYTER_PREFER_ENV_PATH` says otherwise.
    public init(environment: [String: String], environmentPrefix: String? = nil, preferEnvironmentPathByDefault: Bool = false) {
        self.environment = environment
        self.environmentPrefix = environmentPrefix
        self.preferEnvironmentPathByDefault = preferEnvironmentPathByDefault
    }

    /// `$JUPYTER_DATA_DIR`, else `$XDG_DATA_HOME/jupyter`, else `$HOME/.local/share/jupyter`; nil when none of
    /// those variables is set (non-empty).
    public var userDataDirectory: String? {
        if let dir = nonEmpty("JUPYTER_DATA_DIR") { return dir }
        if let xdg = nonEmpty("XDG_DATA_HOME") { return FileSystem.join(xdg, "jupyter") }
        if let home = nonEmpty("HOME") { return FileSystem.join(home, ".local/share/jupyter") }
        return nil
    }

    /// `$JUPYTER_RUNTIME_DIR`, else `<user data dir>/runtime`; nil when neither can be computed.
    public var runtimeDirectory: String? {
        if let dir = nonEmpty("JUPYTER_RUNTIME_DIR") { return dir }
        return userDataDirectory.map { FileSystem.join($0, "runtime") }
    }

    /// The data directories in search order, without duplicates: each `$JUPYTER_PATH` entry, then the user data
    /// dir and the environment prefix's `share/jupyter` (prefix first when preferred), then the system dirs.
    public var dataDirectories: [String] {
        var result: [String] = []
        func add(_ path: String) {
            var trimmed = path
            while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
            if !trimmed.isEmpty && !result.contains(trimmed) { result.append(trimmed) }
        }
        if let jupyterPath = environment["JUPYTER_PATH"] {
            for entry in jupyterPath.split(separator: ":", omittingEmptySubsequences: true) { add(String(entry)) }
        }
        let user = userDataDirectory.map { [$0] } ?? []
        let env = environmentPrefix.map { [FileSystem.join($0, "share/jupyter")] }?
            .filter { !Self.systemDataDirectories.contains($0) } ?? []
        let preferEnv = Self.truthy(environment["JUPYTER_PREFER_ENV_PATH"]) ?? preferEnvironmentPathByDefault
        for path in preferEnv ? env + user : user + env { add(path) }
        for path in Self.systemDataDirectories { add(path) }
        return result
    }

    /// The `kernels` subdirectory of each data directory, in search order.
    public var kernelSpecDirectories: [String] {
        dataDirectories.map { FileSystem.join($0, "kernels") }
    }

    /// jupyter_core's reading of a boolean variable: unset → nil; "no", "n", "false", "off", "0", "0.0"
    /// (any case) → false; anything else → true.
    static func truthy(_ value: String?) -> Bool? {
        guard let value else { return nil }
        return !["no", "n", "false", "off", "0", "0.0"].contains(value.lowercased())
    }

    private func nonEmpty(_ key: String) -> String? {
        guard let value = environment[key], !value.isEmpty else { return nil }
        return value
    }
}
