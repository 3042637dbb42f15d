import ChildProcesses
import Glibc

extension LaunchPlan {
    /// This plan as it runs under `isolation` for a kernel owned by `account`.
    ///
    /// Pure. The process runs as the account (groups, gid, uid, no new privileges, umask 077), starts in `home`
    /// with `HOME`, `USER` and `LOGNAME` naming it, in a network namespace of its own unless the isolation's
    /// network is `host`; in `sandbox` mode the executable becomes bubblewrap (see
    /// `SandboxCommand`), which the gateway starts with SIGINT and SIGTERM ignored. In `none` mode the plan is
    /// returned unchanged.
    public func isolated(_ isolation: KernelIsolation, account: UnixAccount, home: String, kernelDirectory: String,
                         resourceDirectory: String, hostPath: (String) -> SandboxCommand.HostPath?) -> LaunchPlan {
        guard isolation.isolatesKernels else { return self }
        var environment = self.environment
        environment["HOME"] = home
        environment["USER"] = account.name
        environment["LOGNAME"] = account.name
        var executable = executablePath
        var argv = arguments
        var ignored: [Int32] = []
        if isolation.mode == .sandbox {
            let command = SandboxCommand(isolation: isolation, executable: executablePath, arguments: arguments,
                                         resourceDirectory: resourceDirectory, home: home,
                                         kernelDirectory: kernelDirectory, hostPath: hostPath)
            executable = isolation.bubblewrapPath
            argv = command.arguments
            ignored = [SIGINT, SIGTERM]
        }
        // bubblewrap makes its own network namespace; a plain unix-user kernel gets one from the spawn.
        let identity = ProcessIdentity(uid: account.uid, gid: account.gid, supplementaryGroups: account.groups,
                                       umask: 0o077, workingDirectory: home, noNewPrivileges: true,
                                       ignoredSignals: ignored,
                                       newNetworkNamespace: isolation.mode == .unixUser && isolation.network == .none)
        return LaunchPlan(executablePath: executable, arguments: argv, environment: environment, identity: identity)
    }
}
