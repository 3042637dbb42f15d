/// Which cgroup version the machine uses, and where the gateway's own cgroup is in it: the place the gateway's
/// kernel cgroups are created below. Detected once at start (`detect`); pure apart from the file checks it is
/// given, so fake trees test it.
public struct CgroupHierarchy: Sendable, Equatable {
    /// cgroup v1 (one hierarchy per controller, `/sys/fs/cgroup/<controller>`) or v2 (one unified hierarchy with
    /// `cgroup.controllers`).
    public enum Version: String, Sendable, Equatable {
        case v1, v2
    }

    /// Where cgroup hierarchies are mounted on Linux.
    public static let defaultRoot = "/sys/fs/cgroup"

    public let version: Version
    /// The mount point (v2) or the directory holding one mount per controller (v1).
    public let root: String
    /// The gateway's own cgroup, with the controllers available there (v2: all in one directory).
    public let own: CgroupNode

    public init(version: Version, root: String, own: CgroupNode) {
        self.version = version
        self.root = root
        self.own = own
    }

    /// Finds the hierarchy below `root`, given the text of `/proc/self/cgroup`.
    ///
    /// v2 when `<root>/cgroup.controllers` exists: the own cgroup is the `0::<path>` line, its controllers those
    /// of its `cgroup.controllers` (memory, cpu, pids). Otherwise v1 with each of memory, cpu, cpuacct and pids
    /// mounted at `<root>/<controller>` (with `cgroup.procs`), the own cgroup from the line listing that controller.
    /// An own path that does not exist below the mount (a container without a cgroup namespace) falls back to
    /// the mount itself.
    /// - Throws: `CgroupError` when neither is found.
    public static func detect(root: String, selfCgroup: String, fileExists: (String) -> Bool) throws(CgroupError)
        -> CgroupHierarchy
    {
        let root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        let lines = selfCgroup.split(separator: "\n").map { $0.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false) }
        func below(_ mount: String, _ path: Substring?) -> String {
            guard let path, path != "/", !path.isEmpty else { return mount }
            let joined = mount + (path.hasPrefix("/") ? "" : "/") + path
            return fileExists(joined + "/cgroup.procs") ? joined : mount
        }
        if fileExists(root + "/cgroup.controllers") {
            let path = lines.first(where: { $0.count == 3 && $0[0] == "0" && $0[1].isEmpty })?[2]
            let directory = below(root, path)
            let available = CgroupFiles.readSmall(directory + "/cgroup.controllers")?
                .split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init) ?? []
            var directories: [CgroupController: String] = [:]
            for controller in CgroupController.unified where available.contains(controller.rawValue) {
                directories[controller] = directory
            }
            return CgroupHierarchy(version: .v2, root: root,
                                   own: CgroupNode(version: .v2, directories: directories, path: directory))
        }
        var directories: [CgroupController: String] = [:]
        for controller in CgroupController.allCases {
            let mount = root + "/" + controller.rawValue
            guard fileExists(mount + "/cgroup.procs") else { continue }
            let path = lines.first(where: { $0.count == 3 && $0[1].split(separator: ",").contains(Substring(controller.rawValue)) })?[2]
            directories[controller] = below(mount, path)
        }
        guard !directories.isEmpty else {
            throw CgroupError("no writable cgroup hierarchy at \(root): neither cgroup v2 (\(root)/cgroup.controllers) nor v1 controllers (\(root)/memory, \(root)/cpu, \(root)/pids)", code: 2)
        }
        return CgroupHierarchy(version: .v1, root: root, own: CgroupNode(version: .v1, directories: directories))
    }
}
