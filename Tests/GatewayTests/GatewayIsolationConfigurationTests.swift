import Foundation
import KernelRuntime
import Testing
@testable import Gateway

@Suite struct GatewayIsolationConfigurationTests {
    func load(_ args: [String], env: [String: String] = [:]) throws -> GatewayConfiguration {
        let outcome = try GatewayConfiguration.load(arguments: args, environment: env) { _ in Data() }
        guard case .run(let config) = outcome else { throw GatewayConfiguration.Error("help") }
        return config
    }

    func settings(_ config: GatewayConfiguration, root: Bool = true, bwrap: Bool = true) throws -> KernelIsolation {
        try config.kernelIsolationSettings(runtimeDirectory: "/root/.local/share/jupyter/runtime", isRoot: root,
                                           dataHome: "/home/gw/.local/share", isExecutable: { _ in bwrap })
    }

    @Test func flagsEnvironmentAndValidation() throws {
        let c = try load(["--kernel-isolation", "sandbox", "--unix-user-pattern", "jk-{username}", "--unix-uid-range", "2000-2999",
                          "--kernel-home-root", "/srv/homes", "--kernel-network", "host", "--sandbox-ro-bind", "/srv/a",
                          "--sandbox-ro-bind", "/srv/b"], env: ["KG_KERNEL_DIR_ROOT": "/run/k"])
        #expect(c.kernelIsolation == .sandbox && c.unixUserPattern == "jk-{username}" && c.unixUIDRange == 2000...2999)
        #expect(c.kernelHomeRoot == "/srv/homes" && c.kernelDirRoot == "/run/k" && c.kernelNetwork == .host)
        #expect(c.sandboxReadOnlyPaths == ["/srv/a", "/srv/b"])
        #expect(throws: GatewayConfiguration.Error.self) { try load(["--kernel-isolation", "containers"]) }
        #expect(throws: GatewayConfiguration.Error.self) { try load(["--unix-user-pattern", "jk-user"]) }
        #expect(throws: GatewayConfiguration.Error.self) { try load(["--unix-uid-range", "0-100"]) }
        #expect(throws: GatewayConfiguration.Error.self) { try load(["--unix-uid-range", "5000-10"]) }
        #expect(throws: GatewayConfiguration.Error.self) { try load(["--kernel-home-root", "relative/dir"]) }
        #expect(throws: GatewayConfiguration.Error.self) { try load(["--kernel-network", "bridge"]) }
    }

    @Test func usersFileWithoutIsolationNeedsExplicitConsent() throws {
        let refused = #expect(throws: GatewayConfiguration.Error.self) {
            try settings(try load(["--users-file", "/etc/kg/users.json"]))
        }
        #expect(refused?.message.contains("--allow-shared-kernel-user") == true)
        let allowed = try load(["--users-file", "/etc/kg/users.json", "--allow-shared-kernel-user"])
        #expect(try settings(allowed).mode == .none)
        #expect(allowed.isolationWarnings.count == 1)
        // The shared-token mode has one user: nothing to isolate, no warning.
        let single = try load([])
        #expect(try settings(single).mode == .none && single.isolationWarnings.isEmpty)
    }

    @Test func unixUserNeedsRootSandboxNeedsBubblewrap() throws {
        #expect(throws: GatewayConfiguration.Error.self) { try settings(try load(["--kernel-isolation", "unix-user"]), root: false) }
        #expect(throws: GatewayConfiguration.Error.self) { try settings(try load(["--kernel-isolation", "sandbox"]), bwrap: false) }
        #expect(try settings(try load(["--kernel-isolation", "sandbox"]), root: false).mode == .sandbox)
    }

    @Test func defaultsAndPrivatePaths() throws {
        let asRoot = try settings(try load(["--kernel-isolation", "sandbox", "--users-file", "/etc/kg/u.json",
                                            "--audit-log", "/var/log/kg.jsonl", "--policy-file", "/etc/kg/p.json"]))
        #expect(asRoot.kernelDirectoryRoot == "/run/kernel-gateway/kernels")
        #expect(asRoot.homeRoot == "/var/lib/kernel-gateway/homes")
        #expect(Set(asRoot.privatePaths) == ["/etc/kg/u.json", "/var/log/kg.jsonl", "/etc/kg/p.json",
                                             "/root/.local/share/jupyter/runtime"])
        let unprivileged = try settings(try load(["--kernel-isolation", "sandbox"]), root: false)
        #expect(unprivileged.homeRoot == "/home/gw/.local/share/kernel-gateway/homes")
        #expect(unprivileged.kernelDirectoryRoot == "/root/.local/share/jupyter/runtime/kernels")
        // unix-user keeps the accounts' own homes unless a root is given.
        #expect(try settings(try load(["--kernel-isolation", "unix-user"])).homeRoot == nil)
    }

    @Test func socketPathsMustFitSockaddrUn() throws {
        let long = "/" + String(repeating: "d", count: 70)
        let error = #expect(throws: GatewayConfiguration.Error.self) {
            try settings(try load(["--kernel-isolation", "unix-user", "--kernel-dir-root", long]))
        }
        #expect(error?.message.contains("at most 107") == true)
    }
}
