import ResourceLimits
import Testing
@testable import Authorization

@Suite struct PolicyFileTests {
    static let example = #"""
        {
          "version": 1,
          "roles": {
            "user": { "kernelspecs": ["python3", "r-*"], "max_kernels": 3 },
            "gpu-user": { "inherits": "user", "kernelspecs": ["gpu-*"], "max_kernels": 1 },
            "monitor": { "permissions": { "api": ["read"], "metrics": ["read"] } },
            "auditor": { "inherits": "viewer", "all_kernels": "read", "permissions": { "metrics": ["read"] } },
            "unlimited": { "inherits": "gpu-user", "max_kernels": null }
          },
          "channel_rules": {
            "control/shutdown_request": "owner",
            "*/usage_request": "read",
            "shell/comm_info_request": "execute"
          },
          "unknown_message_level": "owner"
        }
        """#

    @Test func parsesExample() throws {
        let p = try Policy(fileContents: Array(Self.example.utf8))
        let user = try #require(p.roles["user"])
        #expect(user.kernelspecs == ["python3", "r-*"])
        #expect(user.maxKernels == 3)
        #expect(user.actions(on: .kernels) == .all, "built-in fields not given are kept")
        let gpu = try #require(p.roles["gpu-user"])
        #expect(gpu.kernelspecs == ["gpu-*"] && gpu.maxKernels == 1)
        #expect(gpu.actions(on: .kernels) == .all, "inherits the modified user role")
        let monitor = try #require(p.roles["monitor"])
        #expect(monitor.actions(on: .metrics) == .read && monitor.actions(on: .kernels) == [])
        let auditor = try #require(p.roles["auditor"])
        #expect(auditor.allKernels == .read && auditor.actions(on: .metrics) == .read)
        #expect(auditor.actions(on: .kernels) == .read)
        #expect(p.roles["unlimited"]?.maxKernels == nil)
        #expect(p.roles["admin"] == Role.admin && p.roles["viewer"] == Role.viewer)

        let rules = p.channelRules
        #expect(rules.requiredLevel(msgType: "shutdown_request") == .owner)
        #expect(rules.requiredLevel(msgType: "usage_request") == .read)
        #expect(rules.requiredLevel(msgType: "comm_info_request") == .execute)
        #expect(rules.requiredLevel(msgType: "execute_request") == .execute, "defaults kept")
        #expect(rules.requiredLevel(msgType: "made_up") == .owner)

        // The auditor sees every kernel but cannot touch them.
        let auditorID = Identity(username: "eve", roles: ["auditor"])
        let k = KernelAccess(owner: "zoe")
        #expect(p.decide(auditorID, .read, .kernel(k)).isAllowed)
        #expect(p.decide(auditorID, .execute, .kernel(k)).denial?.hidden == false)
        #expect(p.decide(auditorID, .read, .metrics).isAllowed)
        let u = Identity(username: "u", roles: ["user"])
        #expect(p.decide(u, .write, .newKernel(kernelspec: "julia", ownedKernelCount: 0)).denial?.code
            == .kernelspecNotAllowed)
    }

    @Test func minimalFile() throws {
        let p = try Policy(fileContents: Array(#"{"version": 1}"#.utf8))
        #expect(p.roles == Role.builtIn)
        #expect(p.channelRules.rules == ChannelRuleTable.defaults.rules)
    }

    @Test(arguments: [
        ("{", "invalid_json", ""),
        (#"{"version": 1, "role": {}}"#, "unknown_field", "role"),
        (#"{"version": 3}"#, "unsupported_version", "version"),
        (#"{"version": 1, "roles": []}"#, "wrong_type", "roles"),
        (#"{"version": 1, "roles": {"bad name": {}}}"#, "invalid_value", "roles.bad name"),
        (#"{"version": 1, "roles": {"x": {"max_kernel": 1}}}"#, "unknown_field", "roles.x.max_kernel"),
        (#"{"version": 1, "roles": {"x": {"max_kernels": -1}}}"#, "invalid_value", "roles.x.max_kernels"),
        (#"{"version": 1, "roles": {"x": {"max_kernels": 1.5}}}"#, "invalid_value", "roles.x.max_kernels"),
        (#"{"version": 1, "roles": {"x": {"permissions": {"contents": ["read"]}}}}"#, "invalid_value",
            "roles.x.permissions.contents"),
        (#"{"version": 1, "roles": {"x": {"permissions": {"kernels": ["delete"]}}}}"#, "invalid_value",
            "roles.x.permissions.kernels[0]"),
        (#"{"version": 1, "roles": {"x": {"permissions": {"kernels": "read"}}}}"#, "wrong_type",
            "roles.x.permissions.kernels"),
        (#"{"version": 1, "roles": {"x": {"all_kernels": "all"}}}"#, "invalid_value", "roles.x.all_kernels"),
        (#"{"version": 1, "roles": {"x": {"kernelspecs": [""]}}}"#, "invalid_value", "roles.x.kernelspecs[0]"),
        (#"{"version": 1, "roles": {"x": {"inherits": "nope"}}}"#, "invalid_value", "roles.x.inherits"),
        (#"{"version": 1, "roles": {"x": {"inherits": "y"}, "y": {"inherits": "x"}}}"#, "invalid_value",
            "roles.y.inherits"),
        (#"{"version": 1, "roles": {"x": {"inherits": "x"}}}"#, "invalid_value", "roles.x.inherits"),
        (#"{"version": 1, "channel_rules": {"execute_request": "read"}}"#, "invalid_value",
            "channel_rules.execute_request"),
        (#"{"version": 1, "channel_rules": {"shel/execute_request": "read"}}"#, "invalid_value",
            "channel_rules.shel/execute_request"),
        (#"{"version": 1, "channel_rules": {"hb/ping": "read"}}"#, "invalid_value", "channel_rules.hb/ping"),
        (#"{"version": 1, "channel_rules": {"shell/": "read"}}"#, "invalid_value", "channel_rules.shell/"),
        (#"{"version": 1, "channel_rules": {"shell/execute_request": "write"}}"#, "invalid_value",
            "channel_rules.shell/execute_request"),
        (#"{"version": 1, "channel_rules": {"shell/execute_request": "none"}}"#, "invalid_value",
            "channel_rules.shell/execute_request"),
        (#"{"version": 1, "unknown_message_level": 2}"#, "wrong_type", "unknown_message_level"),
        // A rule naming one channel cannot lower a type: complete_request needs execute on every channel.
        (#"{"version": 1, "channel_rules": {"shell/complete_request": "read"}}"#, "invalid_value",
            "channel_rules.shell/complete_request"),
        (#"{"version": 1, "channel_rules": {"control/made_up": "read"}}"#, "invalid_value",
            "channel_rules.control/made_up"),
        (#"{"version": 1, "channel_rules": {"shell/usage_request": "read", "*/usage_request": "owner"}}"#,
            "invalid_value", "channel_rules.shell/usage_request"),
    ])
    func badFilesRejected(file: String, code: String, field: String) {
        do {
            _ = try Policy(fileContents: Array(file.utf8))
            Issue.record("accepted bad policy: \(file)")
        } catch {
            #expect(error.code.name == code, "\(error)")
            #expect(error.field == field, "\(error)")
            #expect(error.message.hasPrefix("policy file"))
        }
    }

    @Test func cycleMessageNamesTheChain() {
        do {
            _ = try Policy(fileContents: Array(#"{"version": 1, "roles": {"a": {"inherits": "b"}, "b": {"inherits": "a"}}}"#.utf8))
            Issue.record("cycle accepted")
        } catch {
            #expect(error.detail.contains("cycle"))
            #expect(error.detail.contains("a -> b") || error.detail.contains("b -> a"))
        }
    }

    @Test func channelKeysTightenEveryChannelAndOnlyStarLowers() throws {
        // Whatever the order in the file, `*/` sets a type's level and channel keys only raise it.
        let p = try Policy(fileContents: Array(#"""
            {"version": 1, "unknown_message_level": "owner", "channel_rules": {
              "control/shutdown_request": "owner",
              "shell/debug_request": "owner",
              "shell/inspect_request": "execute",
              "stdin/made_up": "owner",
              "control/usage_request": "execute",
              "*/usage_request": "read",
              "*/complete_request": "read",
              "*/history_request": "owner",
              "shell/history_request": "owner"
            }}
            """#.utf8))
        let rules = p.channelRules
        #expect(rules.requiredLevel(msgType: "shutdown_request") == .owner)
        #expect(rules.requiredLevel(msgType: "debug_request") == .owner)
        #expect(rules.requiredLevel(msgType: "inspect_request") == .execute, "equal to the default: accepted, no change")
        #expect(rules.requiredLevel(msgType: "made_up") == .owner)
        #expect(rules.requiredLevel(msgType: "usage_request") == .execute, "lowered by */, raised again by control/")
        #expect(rules.requiredLevel(msgType: "complete_request") == .read)
        #expect(rules.requiredLevel(msgType: "history_request") == .owner)
        #expect(rules.requiredLevel(msgType: "interrupt_request") == .execute)
        #expect(rules.requiredLevel(msgType: "other") == .owner)
    }

    @Test func loweringThroughAChannelKeyNamesTheFix() {
        do {
            _ = try Policy(fileContents: Array(#"{"version": 1, "channel_rules": {"shell/inspect_request": "read"}}"#.utf8))
            Issue.record("a channel key lowered inspect_request")
        } catch {
            #expect(error.detail.contains("inspect_request needs execute on every channel"), "\(error)")
            #expect(error.detail.contains(#""*/inspect_request""#), "\(error)")
        }
    }
}

@Suite struct PolicyFileLimitsTests {
    @Test func roleLimitsAreParsedInheritedAndCombinedMostGenerously() throws {
        let text = #"""
            {"version": 1, "roles": {
              "student": {"inherits": "user", "kernel_limits": {"memory_limit": "1G", "cpu_limit": 0.5},
                          "user_limits": {"memory_limit": "2G", "pids_limit": 256}},
              "ta": {"inherits": "student", "kernel_limits": {"memory_limit": "4G", "cpu_limit": 2}}}}
            """#
        let p = try Policy(fileContents: Array(text.utf8))
        let student = try #require(p.roles["student"])
        #expect(student.kernelLimits == ResourceLimits(memoryBytes: 1 << 30, cpuMillicores: 500))
        #expect(student.userLimits == ResourceLimits(memoryBytes: 2 << 30, pids: 256))
        #expect(try #require(p.roles["ta"]).userLimits == student.userLimits, "inherited")
        let both = p.permissions(for: Identity(username: "x", roles: ["student", "ta"]))
        #expect(both.kernelLimits == ResourceLimits(memoryBytes: 4 << 30, cpuMillicores: 2000))
        let withUser = p.permissions(for: Identity(username: "x", roles: ["student", "user"]))
        #expect(withUser.kernelLimits.isEmpty, "the built-in user role sets no ceiling")
        #expect(p.permissions(for: Identity(username: "x", roles: ["viewer"])).kernelLimits.isEmpty)
    }

    @Test func badLimitsNameThePath() {
        let text = #"{"version": 1, "roles": {"s": {"kernel_limits": {"memory_limit": "huge"}}}}"#
        #expect {
            try Policy(fileContents: Array(text.utf8))
        } throws: { error in
            "\(error)".contains("roles.s.kernel_limits") && "\(error)".contains("memory_limit")
        }
    }
}
