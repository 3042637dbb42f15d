import JupyterProtocol
import Testing
@testable import Authorization

@Suite struct ChannelRuleTableTests {
    @Test func defaults() {
        let t = ChannelRuleTable.defaults
        let execute: [(Channel, String)] = [
            (.shell, "execute_request"), (.shell, "comm_open"), (.shell, "comm_msg"), (.shell, "comm_close"),
            (.stdin, "input_reply"), (.control, "debug_request"), (.control, "interrupt_request"),
            (.control, "shutdown_request"),
        ]
        let read: [(Channel, String)] = [
            (.shell, "kernel_info_request"), (.shell, "complete_request"), (.shell, "inspect_request"),
            (.shell, "history_request"), (.shell, "is_complete_request"), (.shell, "comm_info_request"),
            (.control, "kernel_info_request"),
        ]
        for (c, m) in execute { #expect(t.requiredLevel(channel: c, msgType: m) == .execute, "\(c)/\(m)") }
        for (c, m) in read { #expect(t.requiredLevel(channel: c, msgType: m) == .read, "\(c)/\(m)") }
    }

    @Test(arguments: ["", "x", "execute_reques", "execute_requestt", "EXECUTE_REQUEST", "kernel_info_reply",
        "usage_request", "a_very_long_message_type_that_nobody_defines_anywhere_at_all"])
    func unknownTypesNeedExecute(msgType: String) {
        #expect(ChannelRuleTable.defaults.requiredLevel(channel: .shell, msgType: msgType) == .execute)
    }

    @Test func ruleIsPerChannel() {
        // execute_request is a shell message; on control it is unknown (execute), and a read type on the
        // wrong channel is also unknown rather than read.
        let t = ChannelRuleTable.defaults
        #expect(t.requiredLevel(channel: .stdin, msgType: "complete_request") == .execute)
        #expect(t.requiredLevel(channel: .iopub, msgType: "kernel_info_request") == .execute)
    }

    @Test func overridesAndUnknownLevel() {
        var t = ChannelRuleTable.defaults
        t.setRule(channel: .control, msgType: "shutdown_request", level: .owner)
        t.setRule(channel: nil, msgType: "usage_request", level: .read)
        t.setRule(channel: .shell, msgType: "execute_request", level: .read)
        #expect(t.requiredLevel(channel: .control, msgType: "shutdown_request") == .owner)
        for c in Channel.messageChannels { #expect(t.requiredLevel(channel: c, msgType: "usage_request") == .read) }
        #expect(t.requiredLevel(channel: .shell, msgType: "execute_request") == .read)
        #expect(t.requiredLevel(channel: .shell, msgType: "comm_msg") == .execute, "others untouched")
        t.removeRule(channel: nil, msgType: "usage_request")
        #expect(t.requiredLevel(channel: .shell, msgType: "usage_request") == .execute)
        t.setUnknownLevel(.owner)
        #expect(t.requiredLevel(channel: .shell, msgType: "whatever") == .owner)
        #expect(t.requiredLevel(channel: .shell, msgType: "complete_request") == .read)
    }

    @Test func lookupReadsOnlyTheGivenBytes() {
        // The msg_type usually sits inside a larger frame buffer: the slice must be honoured exactly.
        let frame = Array(#"{"msg_type":"complete_request_extra"}"#.utf8)
        let start = 13
        frame.withUnsafeBytes { raw in
            let exact = UnsafeRawBufferPointer(rebasing: raw[start..<(start + 16)])
            #expect(String(decoding: exact, as: UTF8.self) == "complete_request")
            #expect(ChannelRuleTable.defaults.requiredLevel(channel: .shell, msgType: exact) == .read)
            let longer = UnsafeRawBufferPointer(rebasing: raw[start..<(start + 22)])
            #expect(ChannelRuleTable.defaults.requiredLevel(channel: .shell, msgType: longer) == .execute)
        }
    }

    @Test func manyRulesAllFound() {
        // Enough rules to force probing past collisions; every rule and only those must be found.
        var rules: [ChannelRuleTable.Rule] = []
        for i in 0..<300 {
            let level: AccessLevel = [.read, .execute, .owner][i % 3]
            rules.append(.init(channel: Channel.messageChannels[i % 4], msgType: "custom_\(i)_request", level: level))
        }
        let t = ChannelRuleTable(rules: rules, unknownLevel: .none)
        for r in rules {
            #expect(t.requiredLevel(channel: r.channel, msgType: r.msgType) == r.level)
            let other = Channel.messageChannels[(r.channel.index + 1) % 4]
            #expect(t.requiredLevel(channel: other, msgType: r.msgType) == .none)
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
        #expect(cache.check(channel: .shell, msgType: "execute_request", access: access) == .allowed)
        access.setGrant(.read, for: "amy")
        #expect(cache.check(channel: .shell, msgType: "execute_request", access: access)
            == .denied(required: .execute, had: .read))
        #expect(cache.check(channel: .shell, msgType: "kernel_info_request", access: access) == .allowed)
        access.setGrant(nil, for: "amy")
        #expect(cache.check(channel: .shell, msgType: "kernel_info_request", access: access)
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
                cache.check(channel: .shell, msgType: UnsafeRawBufferPointer(bytes), generation: generation) {
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
        #expect(check("complete_request", access.generation) == .allowed)
        #expect(calls == 2)
        cache.invalidate()
        _ = check("complete_request", access.generation)
        #expect(calls == 3)
    }

    @Test func viewerNeverExecutesEvenWithExecuteGrant() {
        var access = KernelAccess(owner: "zoe")
        access.setGrant(.execute, for: "vic")
        var cache = ChannelPermissionCache(policy: .default, identity: Identity(username: "vic", roles: ["viewer"]))
        for m in ["execute_request", "comm_open", "comm_msg", "comm_close"] {
            #expect(cache.check(channel: .shell, msgType: m, access: access) == .denied(required: .execute, had: .read))
        }
        #expect(cache.check(channel: .stdin, msgType: "input_reply", access: access).isAllowed == false)
        #expect(cache.check(channel: .control, msgType: "interrupt_request", access: access).isAllowed == false)
        for m in ["kernel_info_request", "complete_request", "inspect_request"] {
            #expect(cache.check(channel: .shell, msgType: m, access: access) == .allowed)
        }
    }

    @Test func ownerOnlyOverride() throws {
        let policy = try Policy(fileContents: Array(#"{"version":1,"channel_rules":{"control/shutdown_request":"owner"}}"#.utf8))
        var access = KernelAccess(owner: "zoe")
        access.setGrant(.execute, for: "amy")
        var amy = ChannelPermissionCache(policy: policy, identity: Identity(username: "amy", roles: ["user"]))
        var zoe = ChannelPermissionCache(policy: policy, identity: Identity(username: "zoe", roles: ["user"]))
        #expect(amy.check(channel: .control, msgType: "shutdown_request", access: access)
            == .denied(required: .owner, had: .execute))
        #expect(zoe.check(channel: .control, msgType: "shutdown_request", access: access) == .allowed)
    }
}
