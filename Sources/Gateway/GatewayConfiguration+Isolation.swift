import Foundation
import KernelRuntime

extension GatewayConfiguration {
    /// The warning `/api/status` and the startup log carry when users share one kernel OS user.
    static let sharedKernelUserWarning =
        "kernel isolation is off: every user's kernels run as the gateway's OS user and can read each other's connection files, memory and files (--allow-shared-kernel-user)"

    /// The warning `/api/status` and the startup log carry when users share the machine without a memory limit.
    static let noMemoryLimitWarning =
        "no memory limit: in multi-user mode one user's kernel can use all of the machine's memory and take every other kernel down (--kernel-memory-limit, --user-memory-limit)"

    /// Warnings about isolation that operators must see.
    public var isolationWarnings: [String] {
        kernelIsolation == .none && usersFile != nil ? [Self.sharedKernelUserWarning] : []
    }

    /// Every warning about this configuration that operators must see (in `/api/status` and at startup):
    /// `isolationWarnings`, and multi-user mode without a gateway-wide memory limit.
    public var warnings: [String] {
        let memoryLimited = kernelLimits.memoryBytes != nil || userLimits.memoryBytes != nil
        return isolationWarnings + (usersFile != nil && !memoryLimited ? [Self.noMemoryLimitWarning] : [])
    }

    /// The kernel isolation settings, checked against the process the gateway runs as, with defaults filled in.
    ///
    /// - Parameters:
    ///   - runtimeDirectory: the gateway's runtime directory (kept out of every kernel's reach).
    ///   - isRoot: whether the gateway runs as root (it must, for `unix-user`).
    ///   - dataHome: where a non-root gateway keeps default sandbox homes.
    /// - Throws: `Error` naming the setting: a users file in mode `none` without `--allow-shared-kernel-user`,
    ///   `unix-user` without root, a missing bubblewrap, socket paths too long for `sockaddr_un`.
    public func kernelIsolationSettings(runtimeDirectory: String, isRoot: Bool, dataHome: String,
                                        isExecutable: (String) -> Bool) throws -> KernelIsolation {
        if kernelIsolation == .none {
            if usersFile != nil && !allowSharedKernelUser {
                throw Error(
                    "--users-file with --kernel-isolation none lets any user who can run code reach every other user's kernel (all kernels run as one OS user); use --kernel-isolation unix-user or sandbox, or accept this with --allow-shared-kernel-user")
            }
            return KernelIsolation()
        }
        if kernelIsolation == .unixUser && !isRoot {
            throw Error("--kernel-isolation unix-user needs the gateway to run as root (it switches each kernel to its owner's account)")
        }
        if kernelIsolation == .sandbox && !isExecutable(bubblewrapPath) {
            throw Error("--kernel-isolation sandbox needs bubblewrap, not found at \(bubblewrapPath) (apt-get install bubblewrap, or --bwrap PATH)")
        }
        let kernelRoot = kernelDirRoot ?? (isRoot ? "/run/kernel-gateway/kernels" : runtimeDirectory + "/kernels")
        var homeRoot = kernelHomeRoot
        if homeRoot == nil && kernelIsolation == .sandbox {
            homeRoot = isRoot ? "/var/lib/kernel-gateway/homes" : dataHome + "/kernel-gateway/homes"
        }
        let privatePaths = [usersFile, policyFile, configFile, auditLog, runtimeDirectory].compactMap { $0 }
        let isolation = KernelIsolation(
            mode: kernelIsolation, unixUserPattern: unixUserPattern, allowedUIDs: unixUIDRange, homeRoot: homeRoot,
            kernelDirectoryRoot: kernelRoot, network: kernelNetwork, sandboxReadOnlyPaths: sandboxReadOnlyPaths,
            bubblewrapPath: bubblewrapPath, privatePaths: privatePaths)
        // sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
        guard isolation.longestSocketPath <= 107 else {
            throw Error("--kernel-dir-root \(kernelRoot) is too long: kernel socket paths would be \(isolation.longestSocketPath) bytes, at most 107 fit")
        }
        return isolation
    }
}
