import Foundation
import Testing
@testable import KernelRuntime

@Suite struct LaunchPlanTests {
    private func spec(_ argv: [String]) -> KernelSpec {
        KernelSpec(name: "k", resourceDirectory: "/specs/k", specFile: "/specs/k/kernel.json", argv: argv)
    }

    private func environment(path: String? = "/opt/k/bin:/usr/bin") throws -> KernelEnvironment {
        try KernelEnvironment.build(gateway: path.map { ["PATH": $0, "HOME": "/h"] } ?? ["HOME": "/h"])
    }

    @Test func templatesLikeJupyterClient() throws {
        let expected = try JSONDecoder().decode([String].self, from: Data(JupyterFixtures.formattedArgv.utf8))
        let plan = try LaunchPlan.make(
            spec: KernelSpec(
                name: "k", resourceDirectory: "/specs/k", specFile: "/specs/k/kernel.json",
                argv: ["/bin/k", "{connection_file}", "--rd={resource_dir}", "{prefix}/x", "{unknown}", "{{x}}"]),
            connectionFile: "/run/kernel-1.json", environment: try environment(),
            prefix: JupyterFixtures.jupyterPathPrefix, isExecutable: { _ in true })
        #expect(Array(plan.arguments.dropFirst()) == expected)
    }

    @Test func defaultPrefixIsUsr() throws {
        let plan = try LaunchPlan.make(
            spec: spec(["/bin/k", "{prefix}", "{connection_file}{resource_dir}"]), connectionFile: "/c.json",
            environment: try environment(), isExecutable: { _ in true })
        #expect(plan.arguments == ["/bin/k", "/usr", "/c.json/specs/k"])
    }

    @Test func resolvesArgv0OnTheKernelsPath() throws {
        var checked: [String] = []
        let plan = try LaunchPlan.make(
            spec: spec(["python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"]), connectionFile: "/c.json",
            environment: try environment(),
            isExecutable: { path in
                checked.append(path)
                return path == "/usr/bin/python3"
            })
        #expect(checked == ["/opt/k/bin/python3", "/usr/bin/python3"])
        #expect(plan.executablePath == "/usr/bin/python3")
        #expect(plan.arguments == ["python3", "-m", "ipykernel_launcher", "-f", "/c.json"])
        #expect(plan.environment["PATH"] == "/opt/k/bin:/usr/bin")
        #expect(plan.envp == ["HOME=/h", "PATH=/opt/k/bin:/usr/bin"])
    }

    @Test func usesTheKernelEnvironmentsPathNotTheGateways() throws {
        // The spec's env replaces PATH; the lookup must follow it.
        let env = try KernelEnvironment.build(gateway: ["PATH": "/gw/bin"], specEnv: ["PATH": "/spec/bin"])
        let plan = try LaunchPlan.make(
            spec: spec(["k"]), connectionFile: "/c", environment: env, isExecutable: { $0.hasPrefix("/spec/bin/") || $0.hasPrefix("/gw/bin/") })
        #expect(plan.executablePath == "/spec/bin/k")
    }

    @Test func fallbackSearchPathWithoutPATH() throws {
        let plan = try LaunchPlan.make(
            spec: spec(["k"]), connectionFile: "/c", environment: try environment(path: nil),
            isExecutable: { $0 == "/bin/k" })
        #expect(plan.executablePath == "/bin/k")
    }

    @Test func relativeAndEmptyPathEntriesAreSkipped() throws {
        var checked: [String] = []
        #expect(throws: KernelRuntimeError.self) {
            try LaunchPlan.make(
                spec: self.spec(["k"]), connectionFile: "/c", environment: try self.environment(path: "::bin:./x:/ok"),
                isExecutable: { path in
                    checked.append(path)
                    return false
                })
        }
        #expect(checked == ["/ok/k"])
    }

    @Test func argv0WithSlashIsUsedAsIs() throws {
        let plan = try LaunchPlan.make(
            spec: spec(["{resource_dir}/run.sh", "x"]), connectionFile: "/c", environment: try environment(),
            isExecutable: { $0 == "/specs/k/run.sh" })
        #expect(plan.executablePath == "/specs/k/run.sh")
    }

    @Test func missingExecutableNamesTheSpecFile() throws {
        for argv0 in ["no-such-kernel", "/opt/none/k"] {
            do {
                _ = try LaunchPlan.make(
                    spec: spec([argv0]), connectionFile: "/c", environment: try environment(), isExecutable: { _ in false })
                Issue.record("\(argv0) resolved")
            } catch let error as KernelRuntimeError {
                #expect(error.code == .executableNotFound)
                #expect(error.message.hasPrefix("/specs/k/kernel.json: argv[0] '\(argv0)' not found"), "\(error.message)")
            }
        }
    }

    @Test func realFileCheck() throws {
        let dir = try TemporaryDirectory()
        let script = try dir.write("run.sh", "#!/bin/sh\n")
        #expect(!LaunchPlan.isExecutableFile(script))
        chmod(script, 0o755)
        #expect(LaunchPlan.isExecutableFile(script))
        #expect(!LaunchPlan.isExecutableFile(dir.path))  // directories are "executable" but not files
        #expect(!LaunchPlan.isExecutableFile(dir.url("missing")))
        let plan = try LaunchPlan.make(
            spec: spec(["run.sh"]), connectionFile: "/c",
            environment: try KernelEnvironment.build(gateway: ["PATH": dir.path]), isExecutable: LaunchPlan.isExecutableFile)
        #expect(plan.executablePath == script)
    }
}
