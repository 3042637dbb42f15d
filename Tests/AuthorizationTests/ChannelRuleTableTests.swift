import JupyterProtocol
import Testing
@testable import Authorization

@Suite struct ChannelRuleTableTests {
    /// Every client-to-kernel message type of Jupyter messaging 5.4 (and ipykernel's extras) and the level
    /// docs/authorization.md promises for it.
    static let documented: [(String, AccessLevel)] = [
        ("kernel_info_request", .read), ("is_complete_request", .read), ("comm_info_request", .read),
        ("execute_request", .execute), ("inspect_request", .execute), ("complete_request", .execute),
        ("history_request", .execute), ("connect_request", .execute), ("comm_open", .execute),
        ("comm_msg", .execute), ("comm_close", .execute), ("input_reply", .execute),
        ("interrupt_request", .execute), ("shutdown_request", .execute), ("debug_request", .execute),
        ("usage_request", .execute), ("create_subshell_request", .execute), ("delete_subshell_request", .execute),
        ("list_subshell_request", .execute), ("apply_request", .execute), ("abort_request", .execute),
        ("clear_request", .execute),
    ]

    @Test func defaultsReadMeansWatchingOnly() {
        let t = ChannelRuleTable.defaults
        for (m, level) in Self.documented { #expect(t.requiredLevel(msgType: m) == level, "\(m)") }
        // Exactly three types are open to readers; everything that reveals state needs execute.
        #expect(t.rules.filter { $0.level == .read }.map(\.msgType)
            == ["comm_info_request", "is_complete_request", "kernel_info_request"])
        #expect(t.rules.allSatisfy { $0.level == .read || $0.level == .execute })
    }

    @Test func kernelToClientTypesAreListedAtExecute() {
        // Not accepted by kernels from clients, but listed: lowering unknown_message_level must not open them.
        var t = ChannelRuleTable.defaults
        t.setUnknownLevel(.read)
        for m in ChannelRuleTable.kernelMessageTypes + ["execute_reply", "status", "stream", "input_request"] {
            #expect(t.requiredLevel(msgType: m) == .execute, "\(m)")
        }
        #expect(t.requiredLevel(msgType: "frobnicate_request") == .read)
    }

    @Test(arguments: ["", "x", "execute_reques", "execute_requestt", "EXECUTE_REQUEST", "kernel_info_requesT",
        "usage", "a_very_long_message_type_that_nobody_defines_anywhere_at_all"])
    func unknownTypesNeedExecute(msgType: String) {
        #expect(ChannelRuleTable.defaults.requiredLevel(msgType: msgType) == .execute)
    }

    @Test func setRuleLowersOrRaisesTighteningOnlyRaises() {
        var t = ChannelRuleTable.defaults
        t.setRule(msgType: "usage_request", level: .read)
        t.setRule(msgType: "execute_request", level: .read)
        #expect(t.requiredLevel(msgType: "usage_request") == .read)
        #expect(t.requiredLevel(msgType: "execute_request") == .read)
        #expect(t.requiredLevel(msgType: "comm_msg") == .execute, "others untouched")
        t.tighten(msgType: "shutdown_request", to: .owner)
        t.tighten(msgType: "shutdown_request", to: .read)
        #expect(t.requiredLevel(msgType: "shutdown_request") == .owner, "the highest tightening wins")
        t.tighten(msgType: "history_request", to: .read)
        #expect(t.requiredLevel(msgType: "history_request") == .execute, "a tightening never lowers")
        // A tightening survives a later own rule that lowers the type, and a change of the unknown level.
        t.setRule(msgType: "shutdown_request", level: .read)
        #expect(t.requiredLevel(msgType: "shutdown_request") == .owner)
        #expect(t.ownLevel(msgType: "shutdown_request") == .read)
        t.tighten(msgType: "made_up", to: .read)
        #expect(t.requiredLevel(msgType: "made_up") == .execute, "unknown level still applies")
        t.setUnknownLevel(.owner)
        #expect(t.requiredLevel(msgType: "made_up") == .owner)
        #expect(t.requiredLevel(msgType: "whatever") == .owner)
        #expect(t.requiredLevel(msgType: "kernel_info_request") == .read)
        t.removeRule(msgType: "shutdown_request")
        #expect(t.requiredLevel(msgType: "shutdown_request") == .owner, "back to the unknown level")
        #expect(t.rules.first { $0.msgType == "made_up" }?.level == .owner)
    }

    @Test func lookupReadsOnlyTheGivenBytes() {
        // The msg_type usually sits inside a larger frame buffer: the slice must be honoured exactly.
        let frame = Array(#"{"msg_type":"comm_info_request_extra"}"#.utf8)
        let start = 13
        frame.withUnsafeBytes { raw in
            let exact = UnsafeRawBufferPointer(rebasing: raw[start..<(start + 17)])
            #expect(String(decoding: exact, as: UTF8.self) == "comm_info_request")
            #expect(ChannelRuleTable.defaults.requiredLevel(msgType: exact) == .read)
            let longer = UnsafeRawBufferPointer(rebasing: raw[start..<(start + 23)])
            #expect(ChannelRuleTable.defaults.requiredLevel(msgType: longer) == .execute)
        }
    }

    @Test func manyRulesAllFound() {
        // Enough rules to force probing past collisions; every rule and only those must be found.
        var rules: [ChannelRuleTable.Rule] = []
        for i in 0..<300 {
            let level: AccessLevel = [.read, .execute, .owner][i % 3]
            rules.append(.init(msgType: "custom_\(i)_request", level: level))
        }
        let t = ChannelRuleTable(rules: rules, unknownLevel: .none)
        for r in rules {
            #expect(t.requiredLevel(msgType: r.msgType) == r.level)
            #expect(t.requiredLevel(msgType: r.msgType + "x") == .none)
        }
        #expect(t.rules.count == 300)
    }

    @Test func channelFromBytes() {
        for c in Channel.allCases {
            var name = c.name
            name.withUTF8 { #expect(Channel(bytes: UnsafeRawBufferPointer($0)) == c) }
        }
        var bad = "shel"
        bad.withUTF8 { #expect(Channel(bytes: UnsafeRawBufferPointer($0)) == nil) }
        #expect(Channel(bytes: UnsafeRawBufferPointer(start: nil, count: 0)) == nil)
    }
}

@Suite struct ChannelPermissionCacheTests {
    @Test func revocationTakesEffectOnNextCheck() {
        var access = KernelAccess(owner: "zoe")
        access.setGrant(.execute, for: "amy")
        var cache = ChannelPermissionCache(policy: .default, identity: Identity(username: "amy", roles: ["user"]))
        #expect(cache.check(msgType: "execute_request", access: access) == .allowed)
        access.setGrant(.read, for: "amy")
        #expect(cache.check(msgType: "execute_request", access: access)
            == .denied(required: .execute, had: .read))
        #expect(cache.check(msgType: "kernel_info_request", access: access) == .allowed)
        access.setGrant(nil, for: "amy")
        #expect(cache.check(msgType: "kernel_info_request", access: access)
            == .denied(required: .read, had: .none))
    }

    @Test func recomputesOnlyWhenGenerationChanges() {
        var access = KernelAccess(owner: "zoe")
        access.setGrant(.execute, for: "amy")
        var cache = ChannelPermissionCache(policy: .default, identity: Identity(username: "amy", roles: ["user"]))
        var calls = 0
        func check(_ type: String, _ generation: UInt64) -> ChannelDecision {
            var t = type
            return t.withUTF8 { bytes in
                cache.check(msgType: UnsafeRawBufferPointer(bytes), generation: generation) {
                    calls += 1
                    return access
                }
            }
        }
        for _ in 0..<100 { #expect(check("execute_request", access.generation) == .allowed) }
        #expect(calls == 1)
        access.setGrant(.read, for: "amy")
        #expect(check("execute_request", access.generation) == .denied(required: .execute, had: .read))
        #expect(calls == 2)
        #expect(check("is_complete_request", access.generation) == .allowed)
        #expect(calls == 2)
        cache.invalidate()
        _ = check("is_complete_request", access.generation)
        #expect(calls == 3)
    }

    @Test func viewerNeverExecutesEvenWithExecuteGrant() {
        var access = KernelAccess(owner: "zoe")
        access.setGrant(.execute, for: "vic")
        var cache = ChannelPermissionCache(policy: .default, identity: Identity(username: "vic", roles: ["viewer"]))
        for m in ["execute_request", "comm_open", "comm_msg", "comm_close", "input_reply", "interrupt_request",
                  "inspect_request", "complete_request", "history_request", "usage_request"] {
            #expect(cache.check(msgType: m, access: access) == .denied(required: .execute, had: .read), "\(m)")
        }
        for m in ["kernel_info_request", "is_complete_request", "comm_info_request"] {
            #expect(cache.check(msgType: m, access: access) == .allowed)
        }
    }

    @Test func ownerOnlyOverrideHoldsWhicheverChannelTheKeyNames() throws {
        // ipykernel serves shutdown_request on shell as well as on control: the rule names control, the
        // decision does not depend on the channel the message comes on.
        let policy = try Policy(fileContents: Array(#"{"version":1,"channel_rules":{"control/shutdown_request":"owner"}}"#.utf8))
        var access = KernelAccess(owner: "zoe")
        access.setGrant(.execute, for: "amy")
        var amy = ChannelPermissionCache(policy: policy, identity: Identity(username: "amy", roles: ["user"]))
        var zoe = ChannelPermissionCache(policy: policy, identity: Identity(username: "zoe", roles: ["user"]))
        #expect(amy.check(msgType: "shutdown_request", access: access) == .denied(required: .owner, had: .execute))
        #expect(zoe.check(msgType: "shutdown_request", access: access) == .allowed)
        #expect(amy.check(msgType: "execute_request", access: access) == .allowed)
    }
}
