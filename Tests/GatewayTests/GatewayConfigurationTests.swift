import Foundation
import Testing
@testable import Gateway

@Suite struct GatewayConfigurationTests {
    func load(_ args: [String], env: [String: String] = [:], file: String? = nil) throws -> GatewayConfiguration {
        let outcome = try GatewayConfiguration.load(arguments: args, environment: env) { _ in
            guard let file else { throw CocoaError(.fileNoSuchFile) }
            return Data(file.utf8)
        }
        guard case .run(let config) = outcome else { throw GatewayConfiguration.Error("help") }
        return config
    }

    @Test func defaults() throws {
        let c = try load([])
        #expect(c.ip == "127.0.0.1" && c.port == 8888 && c.baseURL == "/" && c.token == nil)
        #expect(c.cullInterval == 300 && c.cullIdleTimeout == 0)
    }

    @Test func httpLimitDefaultsAndOptions() throws {
        let c = try load([])
        #expect(c.maxBodyBytes == 1 << 20)
        #expect(c.headerTimeoutSeconds == 10 && c.bodyTimeoutSeconds == 30)
        #expect(c.maxConnections == 10_000 && c.maxConnectionsPerAddress == 256)
        let set = try load(["--header-timeout", "2", "--body-timeout=3", "--max-connections", "20000"],
                           env: ["KG_MAX_CONNECTIONS_PER_ADDRESS": "20000"])
        #expect(set.headerTimeoutSeconds == 2 && set.bodyTimeoutSeconds == 3)
        #expect(set.maxConnections == 20_000 && set.maxConnectionsPerAddress == 20_000)
        #expect(throws: GatewayConfiguration.Error("--max-connections-per-address: 0 is outside 1...1000000")) {
            try load(["--max-connections-per-address", "0"])
        }
        #expect(throws: GatewayConfiguration.Error("--header-timeout: 0 is outside 1...3600")) {
            try load(["--header-timeout", "0"])
        }
    }

    @Test func precedenceFlagOverEnvOverFile() throws {
        let file = #"{"port": 9000, "ip": "0.0.0.0", "allow_origin": ["https://a"], "cull_busy": true}"#
        let c = try load(["--config", "c.json", "--port=9002"], env: ["KG_PORT": "9001", "KG_IP": "::1"], file: file)
        #expect(c.port == 9002)
        #expect(c.ip == "::1")
        #expect(c.allowOrigins == ["https://a"])
        #expect(c.cullBusy)
    }

    @Test func listsAndBooleansAndBaseURL() throws {
        let c = try load(["--kernelspec-dir", "/a", "--kernelspec-dir", "/b", "--cull-connected", "--base-url", "gw"],
                         env: ["KG_KERNELSPEC_DIRS": "/env"])
        #expect(c.kernelspecDirectories == ["/a", "/b"])
        #expect(c.cullConnected)
        #expect(c.baseURL == "/gw/")
    }

    @Test func errorsNameTheOption() {
        #expect(throws: GatewayConfiguration.Error("--port: 'abc' is not a whole number")) { try load(["--port", "abc"]) }
        #expect(throws: GatewayConfiguration.Error("unknown option '--bogus' (see --help)")) { try load(["--bogus"]) }
        #expect(throws: GatewayConfiguration.Error("environment KG_MAX_KERNELS: -1 is outside 0...1000000")) {
            try load([], env: ["KG_MAX_KERNELS": "-1"])
        }
        #expect(throws: GatewayConfiguration.Error("config file c.json: unknown key 'prot'")) {
            try load(["--config", "c.json"], file: #"{"prot": 1}"#)
        }
        #expect(throws: GatewayConfiguration.Error("config file c.json is not valid JSON")) {
            try load(["--config", "c.json"], file: "{")
        }
        #expect(throws: GatewayConfiguration.Error("--token needs a value")) { try load(["--token"]) }
        #expect(throws: GatewayConfiguration.Error("config file c.json: cull_busy: 'maybe' is not true or false")) {
            try load(["--config", "c.json"], file: #"{"cull_busy": "maybe"}"#)
        }
    }

    /// Issue 10, finding 6: a share of --max-kernels is kept for admins; by default 10%, at least 1, never all.
    @Test func adminReserveDefaultsAndLimits() throws {
        func reserve(_ args: [String]) throws -> Int { try load(args).reservedKernels }
        #expect(try reserve([]) == 0)
        #expect(try reserve(["--max-kernels", "1"]) == 0)
        #expect(try reserve(["--max-kernels", "2"]) == 1)
        #expect(try reserve(["--max-kernels", "6"]) == 1)
        #expect(try reserve(["--max-kernels", "25"]) == 2)
        #expect(try reserve(["--max-kernels", "100"]) == 10)
        #expect(try reserve(["--max-kernels", "6", "--admin-reserved-kernels", "0"]) == 0)
        #expect(try reserve(["--max-kernels", "6", "--admin-reserved-kernels", "6"]) == 6)
        #expect(try load([], env: ["KG_MAX_KERNELS": "10", "KG_ADMIN_RESERVED_KERNELS": "3"]).reservedKernels == 3)
        #expect(try load(["--config", "c.json"], file: #"{"max_kernels": 8, "admin_reserved_kernels": 2}"#)
            .reservedKernels == 2)
        #expect(throws: GatewayConfiguration.Error(
            "admin_reserved_kernels (7) must not exceed max_kernels (6); without a gateway-wide limit there is nothing to reserve")) {
            try load(["--max-kernels", "6", "--admin-reserved-kernels", "7"])
        }
        #expect(throws: GatewayConfiguration.Error.self) { try load(["--admin-reserved-kernels", "1"]) }
        #expect(throws: GatewayConfiguration.Error.self) { try load(["--admin-reserved-kernels", "-1"]) }
    }

    @Test func helpListsEveryOption() throws {
        let outcome = try GatewayConfiguration.load(arguments: ["--help"], environment: [:]) { _ in Data() }
        #expect(outcome == .help)
        for option in GatewayConfiguration.options where !option.hidden {
            #expect(GatewayConfiguration.helpText.contains(option.flag))
            #expect(GatewayConfiguration.helpText.contains(option.env))
        }
        #expect(!GatewayConfiguration.helpText.contains("--cgroup-root"), "a test option")
    }

    @Test func resourceLimits() throws {
        let c = try load(["--kernel-memory-limit", "2G", "--kernel-cpu-limit=1.5", "--user-pids-limit", "512"],
                         env: ["KG_USER_MEMORY_LIMIT": "8G", "KG_KERNEL_PIDS_LIMIT": "none"])
        #expect(c.kernelLimits.memoryBytes == 2 << 30 && c.kernelLimits.cpuMillicores == 1500 && c.kernelLimits.pids == nil)
        #expect(c.userLimits.memoryBytes == 8 << 30 && c.userLimits.pids == 512 && c.userLimits.cpuMillicores == nil)
        let f = try load(["--config", "c.json"], file: #"{"kernel_pids_limit": 64, "user_cpu_limit": 2.5, "kernel_memory_limit": 1073741824, "cgroup_root": "/tmp/cg"}"#)
        #expect(f.kernelLimits.pids == 64 && f.userLimits.cpuMillicores == 2500 && f.kernelLimits.memoryBytes == 1 << 30)
        #expect(f.cgroupRoot == "/tmp/cg")
        #expect(try load([]).kernelLimits.isEmpty && (try load([])).cgroupRoot == "/sys/fs/cgroup")
        #expect(throws: GatewayConfiguration.Error("--kernel-memory-limit: 'lots' is not a memory size (e.g. 2G, 512M, 1.5GiB, or bytes)")) {
            try load(["--kernel-memory-limit", "lots"])
        }
        #expect(throws: GatewayConfiguration.Error.self) { try load(["--kernel-cpu-limit", "0"]) }
    }

    @Test func multiUserWithoutMemoryLimitWarns() throws {
        let users = try load(["--users-file", "/u.json", "--kernel-isolation", "sandbox"])
        #expect(users.warnings.contains(GatewayConfiguration.noMemoryLimitWarning))
        let limited = try load(["--users-file", "/u.json", "--kernel-isolation", "sandbox", "--user-memory-limit", "4G"])
        #expect(limited.warnings.isEmpty)
        #expect(try load([]).warnings.isEmpty, "single-user mode")
    }
}
