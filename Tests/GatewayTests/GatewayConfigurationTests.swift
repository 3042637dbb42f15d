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
