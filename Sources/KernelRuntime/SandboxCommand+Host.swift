import Glibc

extension SandboxCommand {
    /// What `path` is on this host, without following a final symlink (nil when it does not exist): the
    /// production `hostPath` of `init`.
    public static func inspect(_ path: String) -> HostPath? {
        switch FileSystem.kind(of: path, followSymlinks: false) {
        case .directory?: return .directory
        case .regular?, .other?: return .file
        case .symlink?:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = readlink(path, &buffer, buffer.count - 1)
            guard count > 0 else { return nil }
            return .symlink(target: String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self))
        case nil: return nil
        }
    }
}
