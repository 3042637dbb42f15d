import Testing
import JSONValue
@testable import KernelRuntime

@Suite struct KernelEnvironmentTests {
    private let gateway = [
        "PATH": "/usr/bin:/bin", "HOME": "/home/gw", "LANG": "C.UTF-8", "KG_TOKEN": "secret-token",
        "JUPYTER_GATEWAY_TOKEN": "secret-2", "AWS_SECRET_ACCESS_KEY": "aws", "TZ": "UTC", "SHELL": "/bin/sh",
    ]

    @Test func startsFromTheMinimalSet() throws {
        let env = try KernelEnvironment.build(gateway: gateway)
        #expect(env.variables == ["PATH": "/usr/bin:/bin", "HOME": "/home/gw", "LANG": "C.UTF-8"])
    }

    @Test func gatewaySecretsNeverReachTheKernel() throws {
        let env = try KernelEnvironment.build(
            gateway: gateway, policy: KernelEnvironment.Policy(passThrough: ["TZ"]),
            specEnv: ["X": "1"], client: ["KERNEL_A": .string("a"), "KG_TOKEN": .string("client-said")],
            forced: ["KERNEL_ID": "id"])
        for secret in ["KG_TOKEN", "JUPYTER_GATEWAY_TOKEN", "AWS_SECRET_ACCESS_KEY"] {
            #expect(env.variables[secret] == nil, "\(secret) leaked")
        }
        #expect(!env.envp.contains { $0.contains("secret") || $0.contains("client-said") })
        #expect(env.ignoredClientVariables == ["KG_TOKEN"])
    }

    @Test func passThroughAllowList() throws {
        let env = try KernelEnvironment.build(
            gateway: gateway, policy: KernelEnvironment.Policy(passThrough: ["TZ", "NOT_SET"]))
        #expect(env.variables["TZ"] == "UTC")
        #expect(env.variables["NOT_SET"] == nil)
        #expect(env.variables["SHELL"] == nil)
    }

    @Test func missingBaseVariablesStayMissing() throws {
        let env = try KernelEnvironment.build(gateway: ["PATH": "/bin"])
        #expect(env.variables == ["PATH": "/bin"])
    }

    @Test func specEnvSubstitutesFromTheGatewayEnvironment() throws {
        let env = try KernelEnvironment.build(
            gateway: gateway,
            specEnv: ["PYTHONPATH": "${HOME}/lib:${NOPE}:x", "LANG": "en_US.UTF-8", "TZ_COPY": "${TZ}", "PLAIN": "$HOME"])
        #expect(env.variables["PYTHONPATH"] == "/home/gw/lib::x")
        #expect(env.variables["LANG"] == "en_US.UTF-8")  // the spec overrides the base layer
        #expect(env.variables["TZ_COPY"] == "UTC")
        #expect(env.variables["PLAIN"] == "$HOME")  // only the braced form is a reference
    }

    @Test(arguments: [
        ("${A}", "1"), ("x${A}y${B}z", "x1y22z"), ("${", "${"), ("a${A", "a${A"), ("${}", ""), ("}${A}}", "}1}"),
        ("no refs", "no refs"), ("${UNKNOWN}", ""), ("${A}${A}", "11"),
    ])
    func substitution(template: String, expected: String) {
        #expect(KernelEnvironment.substitute(template, from: ["A": "1", "B": "22"]) == expected)
    }

    @Test func clientKernelVariablesOverrideSpecButNotForced() throws {
        let env = try KernelEnvironment.build(
            gateway: gateway, specEnv: ["KERNEL_MODE": "spec", "KERNEL_USERNAME": "spec"],
            client: ["KERNEL_MODE": .string("client"), "KERNEL_USERNAME": .string("mallory"), "KERNEL_ID": .string("forged")],
            forced: ["KERNEL_USERNAME": "alice", "KERNEL_ID": "k-1"])
        #expect(env.variables["KERNEL_MODE"] == "client")
        #expect(env.variables["KERNEL_USERNAME"] == "alice")
        #expect(env.variables["KERNEL_ID"] == "k-1")
    }

    @Test func nonKernelClientVariablesAreIgnoredAndReported() throws {
        let env = try KernelEnvironment.build(
            gateway: gateway, client: ["PATH": .string("/evil"), "LD_PRELOAD": .string("/x.so"), "KERNEL_OK": .string("1")])
        #expect(env.variables["PATH"] == "/usr/bin:/bin")
        #expect(env.variables["LD_PRELOAD"] == nil)
        #expect(env.variables["KERNEL_OK"] == "1")
        #expect(env.ignoredClientVariables == ["LD_PRELOAD", "PATH"])
    }

    @Test(arguments: [
        ("KERNEL_", JSONValue.string("x"), "must match"),
        ("KERNEL_A-B", .string("x"), "must match"),
        ("KERNEL_A B", .string("x"), "must match"),
        ("KERNEL_É", .string("x"), "must match"),
        ("KERNEL_N", .integer(1), "'KERNEL_N' must be a string, not number"),
        ("KERNEL_N", .null, "'KERNEL_N' must be a string, not null"),
        ("KERNEL_N", .object([:]), "'KERNEL_N' must be a string, not object"),
        ("KERNEL_N", .string("a\nb"), "'KERNEL_N' contains a NUL, CR or LF"),
        ("KERNEL_N", .string("a\rb"), "'KERNEL_N' contains a NUL, CR or LF"),
        ("KERNEL_N", .string("a\u{0}b"), "'KERNEL_N' contains a NUL, CR or LF"),
        ("KERNEL_N", .string(String(repeating: "x", count: 4097)), "'KERNEL_N' is longer than 4096 bytes"),
    ])
    func invalidClientVariablesAreNamedInTheError(name: String, value: JSONValue, fragment: String) {
        do {
            _ = try KernelEnvironment.build(gateway: gateway, client: [name: value])
            Issue.record("\(name) was accepted")
        } catch let error as KernelRuntimeError {
            #expect(error.code == .invalidEnvironment)
            #expect(error.message.contains(fragment), "\(error.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func valueAtTheLimitIsAccepted() throws {
        let value = String(repeating: "é", count: 2048)  // 4096 UTF-8 bytes
        let env = try KernelEnvironment.build(gateway: [:], client: ["KERNEL_BIG": .string(value)])
        #expect(env.variables["KERNEL_BIG"] == value)
    }

    @Test func tooManyVariablesAreRejected() {
        var client: [String: JSONValue] = [:]
        for index in 0..<101 { client["KERNEL_V\(index)"] = .string("x") }
        #expect {
            try KernelEnvironment.build(gateway: [:], client: client)
        } throws: { ($0 as? KernelRuntimeError)?.message.contains("too many") == true }
    }

    @Test func envpIsSortedNameValuePairs() throws {
        let env = try KernelEnvironment.build(gateway: ["PATH": "/bin", "HOME": "/h"], forced: ["KERNEL_ID": "a=b"])
        #expect(env.envp == ["HOME=/h", "KERNEL_ID=a=b", "PATH=/bin"])
    }
}
