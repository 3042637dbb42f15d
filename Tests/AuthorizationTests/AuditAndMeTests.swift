import Foundation
import Testing
@testable import Authorization

@Suite struct AuditEncoderTests {
    /// Parses a line with Foundation as an independent oracle.
    func decode(_ line: [UInt8]) throws -> [String: Any] {
        #expect(line.last == 0x0A)
        #expect(line.dropLast().contains(0x0A) == false, "exactly one line")
        let obj = try JSONSerialization.jsonObject(with: Data(line.dropLast()))
        return try #require(obj as? [String: Any])
    }

    @Test func encodesAllFields() throws {
        let e = AuditEvent(
            timeMilliseconds: 1_700_000_000_123, user: "amy", action: "execute",
            resource: "kernels/k1/shell/execute_request", outcome: .denied,
            reason: "needs \"execute\"\n\ttab\u{1}\u{7F} é ✓ \u{2028}", remoteAddress: "127.0.0.1")
        let d = try decode(AuditEncoder.encodeLine(e))
        #expect(d["time"] as? String == "2023-11-14T22:13:20.123Z")
        #expect(d["user"] as? String == "amy")
        #expect(d["action"] as? String == "execute")
        #expect(d["resource"] as? String == "kernels/k1/shell/execute_request")
        #expect(d["outcome"] as? String == "denied")
        #expect(d["reason"] as? String == "needs \"execute\"\n\ttab\u{1}\u{7F} é ✓ \u{2028}")
        #expect(d["remote"] as? String == "127.0.0.1")
        let text = String(decoding: AuditEncoder.encodeLine(e), as: UTF8.self)
        #expect(text.contains("\\u2028") && text.contains("\\u0001"))
    }

    @Test func unauthenticatedHasNullUserAndOmitsAbsentFields() throws {
        let e = AuditEvent(timeMilliseconds: 0, user: nil, action: "authenticate", resource: "/api/kernels",
            outcome: .unauthenticated)
        let line = AuditEncoder.encodeLine(e)
        let d = try decode(line)
        #expect(d["user"] is NSNull)
        #expect(d["reason"] == nil && d["remote"] == nil)
        #expect(d["time"] as? String == "1970-01-01T00:00:00.000Z")
    }

    @Test func tokensNeverReachTheLog() throws {
        let token = Tokens.generate()
        let e = AuditEvent(
            timeMilliseconds: 1, user: "amy", action: "read",
            resource: "/api/kernels?token=\(token)&x=1", outcome: .allowed,
            reason: "Authorization: token \(token)", remoteAddress: nil)
        let text = String(decoding: AuditEncoder.encodeLine(e), as: UTF8.self)
        #expect(!text.contains(token))
        #expect(!text.contains(String(token.prefix(32))))
        let d = try decode(AuditEncoder.encodeLine(e))
        #expect(d["resource"] as? String == "/api/kernels?token=[redacted]&x=1")
        // Shared tokens need not be hex; a token= parameter is still redacted.
        #expect(AuditEncoder.redact("/api?TOKEN=hunter2") == "/api?TOKEN=[redacted]")
        // Ordinary identifiers survive.
        let uuid = "5b3c7c2e-8a4f-4b3a-9c1d-0e2f3a4b5c6d"
        #expect(AuditEncoder.redact("kernels/\(uuid)") == "kernels/\(uuid)")
    }

    @Test func eventsFromDecisions() throws {
        let me = Identity(username: "amy", roles: ["viewer"])
        let d = Policy.default.decide(me, .write, .kernels)
        let e = AuditEvent(timeMilliseconds: 5, identity: me, action: .write, resource: "kernels", decision: d)
        #expect(e.outcome == .denied && e.reason?.contains("write") == true)
        let c = AuditEvent(timeMilliseconds: 5, identity: me, kernelID: "k1", channel: .shell,
            msgType: "execute_request", decision: .denied(required: .execute, had: .read))
        #expect(c.resource == "kernels/k1/shell/execute_request")
        #expect(c.reason == "execute_request on shell needs execute access; you have read")
        var batch: [UInt8] = []
        AuditEncoder.append(e, to: &batch)
        AuditEncoder.append(c, to: &batch)
        #expect(batch.filter { $0 == 0x0A }.count == 2)
    }
}

@Suite struct MePermissionsTests {
    @Test func subsetPerRole() {
        let requested = ["kernels": ["read", "write", "execute"], "metrics": ["read"], "contents": ["read"],
            "api": ["read", "fly"]]
        let admin = Policy.default.allowedSubset(of: requested, for: Identity(username: "a", roles: ["admin"]))
        #expect(admin == ["kernels": ["read", "write", "execute"], "metrics": ["read"], "contents": [],
            "api": ["read"]])
        let user = Policy.default.allowedSubset(of: requested, for: Identity(username: "u", roles: ["user"]))
        #expect(user == ["kernels": ["read", "write", "execute"], "metrics": [], "contents": [], "api": ["read"]])
        let viewer = Policy.default.allowedSubset(of: requested, for: Identity(username: "v", roles: ["viewer"]))
        #expect(viewer == ["kernels": ["read"], "metrics": [], "contents": [], "api": ["read"]])
        // Order of the request is kept.
        let order = Policy.default.allowedSubset(of: ["kernels": ["execute", "read"]],
            for: Identity(username: "u", roles: ["user"]))
        #expect(order == ["kernels": ["execute", "read"]])
    }

    @Test func parseQueryAndRenderBody() throws {
        let requested = try MeResponse.parsePermissionsQuery(#"{"kernels": ["read", "execute"], "sessions": []}"#)
        #expect(requested == ["kernels": ["read", "execute"], "sessions": []])
        #expect(try MeResponse.parsePermissionsQuery("") == [:])
        #expect(throws: AuthorizationFileError.self) { try MeResponse.parsePermissionsQuery("[1]") }
        #expect(throws: AuthorizationFileError.self) { try MeResponse.parsePermissionsQuery(#"{"kernels": "read"}"#) }
        #expect(throws: AuthorizationFileError.self) { try MeResponse.parsePermissionsQuery(#"{"kernels": [1]}"#) }
        #expect(throws: AuthorizationFileError.self) { try MeResponse.parsePermissionsQuery("{") }

        let me = MeResponse(identity: Identity(username: "vic", roles: ["viewer"], displayName: "Vic"),
            policy: .default, requested: requested)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(me.json())) as? [String: Any])
        let identity = try #require(body["identity"] as? [String: Any])
        #expect(identity["username"] as? String == "vic")
        #expect(identity["display_name"] as? String == "Vic")
        #expect(identity["initials"] is NSNull)
        let perms = try #require(body["permissions"] as? [String: Any])
        #expect(perms["kernels"] as? [String] == ["read"])
        #expect(perms["sessions"] as? [String] == [])
        #expect(perms["updatable_fields"] as? [String] == [])
    }
}
