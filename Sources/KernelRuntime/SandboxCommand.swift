/// The bubblewrap command line that runs one kernel in its own namespaces.
///
/// Pure: facts about the host's paths are injected (`HostPath`), so every rule is tested without a sandbox.
/// What the kernel sees:
/// - the system read-only (`systemPaths` that exist; merged-/usr symlinks such as `/bin -> usr/bin` recreated
///   as symlinks), a fresh `/proc` (own pid namespace), a minimal `/dev`, a private `/tmp`;
/// - read-only: the kernelspec's directory, the install prefix of the kernel's executable (the directory above
///   its `bin/`, e.g. a virtualenv) and the operator's `--sandbox-ro-bind` paths;
/// - read-write: only the owner's home and the kernel's private directory (connection file, ipc sockets);
/// - hidden: every gateway file (`privatePaths`), the home root and the kernel directory root, wherever a
///   read-only bind would otherwise expose them (a directory gets an empty tmpfs, a file `/dev/null`).
///
/// The gateway ignores SIGINT and SIGTERM in the bubblewrap process it spawns (bubblewrap would die of them and
/// orphan the kernel), so the command goes through `env --default-signal=INT,TERM` to give the kernel the
/// default dispositions back: an interrupt or terminate sent to the process group then reaches the kernel only.
public struct SandboxCommand: Sendable, Equatable {
    /// What a host path is, as far as the sandbox layout cares.
    public enum HostPath: Sendable, Equatable {
        case directory
        case file
        case symlink(target: String)
    }

    /// Top-level system locations bound read-only when present.
    public static let systemPaths = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt"]
    /// The signals the gateway leaves ignored in bubblewrap and `env` restores for the kernel.
    public static let restoredSignals = "INT,TERM"

    /// argv of the bubblewrap process (argv[0] is the bubblewrap path).
    public let arguments: [String]

    /// Builds the command.
    /// - Parameters:
    ///   - isolation: network choice, bubblewrap path, extra read-only and private paths, roots to hide.
    ///   - executable: the kernel's resolved executable; `arguments` its argv (argv[0] is replaced by it).
    ///   - resourceDirectory: the kernelspec's directory.
    ///   - home, kernelDirectory: bound read-write at the same paths, so the connection file's paths hold inside.
    ///   - envPath: the `env` program inside the sandbox (coreutils ≥ 8.31 for `--default-signal`).
    ///   - hostPath: what a path is on the host (nil when missing); production passes `SandboxCommand.inspect`.
    public init(isolation: KernelIsolation, executable: String, arguments: [String], resourceDirectory: String,
                home: String, kernelDirectory: String, envPath: String = "/usr/bin/env",
                hostPath: (String) -> HostPath?) {
        var argv = [isolation.bubblewrapPath, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if isolation.network == .none { argv.append("--unshare-net") }
        argv += ["--hostname", "kernel"]
        var bound: [String] = []
        for path in Self.systemPaths {
            switch hostPath(path) {
            case .symlink(let target)?:
                argv += ["--symlink", target, path]
            case .directory?:
                argv += ["--ro-bind", path, path]
                bound.append(path)
            case .file?, nil:
                continue
            }
        }
        argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
        var extras = [resourceDirectory, Self.installPrefix(of: executable)] + isolation.sandboxReadOnlyPaths
        extras = extras.map(Self.normalize).filter { $0 != "/" }
        var seen = Set<String>()
        for path in extras where !seen.contains(path) && !Self.isInside(path, anyOf: bound) {
            seen.insert(path)
            // A symlink is bound as what it points to, at the link's own path, so paths as configured still work.
            guard hostPath(path) != nil else { continue }
            argv += ["--ro-bind", path, path]
        }
        bound += seen
        let hidden = isolation.privatePaths + [isolation.kernelDirectoryRoot] + (isolation.homeRoot.map { [$0] } ?? [])
        var masked = Set<String>()
        for path in hidden.map(Self.normalize) where !masked.contains(path) && Self.isInside(path, anyOf: bound) {
            masked.insert(path)
            switch hostPath(path) {
            case .directory?: argv += ["--tmpfs", path]
            case .file?, .symlink?: argv += ["--ro-bind", "/dev/null", path]
            case nil: continue
            }
        }
        argv += ["--bind", home, home, "--bind", kernelDirectory, kernelDirectory, "--chdir", home]
        argv += ["--", envPath, "--default-signal=\(Self.restoredSignals)", "--", executable]
        argv += arguments.dropFirst()
        self.arguments = argv
    }

    /// The directory a kernel's executable is installed under: the parent of its `bin/` directory (a virtualenv,
    /// a conda environment, a prefix), or the executable's own directory otherwise.
    public static func installPrefix(of executable: String) -> String {
        let directory = parent(of: normalize(executable))
        if directory.hasSuffix("/bin") {
            let prefix = parent(of: directory)
            return prefix.isEmpty ? "/" : prefix
        }
        return directory.isEmpty ? "/" : directory
    }

    /// Whether `path` equals or lies below one of `roots` (textually; paths are absolute and normalized).
    static func isInside(_ path: String, anyOf roots: [String]) -> Bool {
        roots.contains { root in path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/") }
    }

    /// Drops trailing slashes and `.` components, and collapses repeated slashes.
    static func normalize(_ path: String) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        return "/" + parts.joined(separator: "/")
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }
}
