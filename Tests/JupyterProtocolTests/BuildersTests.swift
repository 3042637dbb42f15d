import Basics
import Foundation
import Testing
@testable import JupyterProtocol

@Suite struct BuildersTests {
    /// Our scanner decodes what the one escaper (`Basics.JSONEscaper`, tested in BasicsTests) writes.
    @Test(arguments: ["", "plain", "quote\" backslash\\ slash/", "\n\r\t\u{8}\u{c}", "\u{0}\u{1}\u{1f}\u{7f}",
                      "é ✓ 😀 \u{2028}\u{2029}", "mixed \"é\"\n\u{1}end"])
    func scannerDecodesEscapedStrings(_ value: String) throws {
        let token = JSONEscaper.quoted(value)
        let decoded = try token.withBytes { (raw) throws(ProtocolError) -> String in
            let scanner = JSONScanner(raw)
            _ = try scanner.validateDocument()
            return try scanner.decodeString(try scanner.scanString(at: 0))
        }
        #expect(decoded == value)
    }

    @Test func timestampsMatchPython() {
        for item in Fixtures.shared.dates {
            let stamp = UTCTimestamp(seconds: item.seconds, microseconds: item.microseconds)
            #expect(stamp.iso8601 == item.text)
            if item.microseconds != 0 { #expect(stamp.iso8601 == item.jupyter) }
        }
    }

    @Test func messageHeaderSerializes() throws {
        let header = MessageHeader(
            msgID: "id-1", msgType: "kernel_info_request", username: "al\"ice", session: "s1",
            date: UTCTimestamp(seconds: 1_795_400_025, microseconds: 123_456))
        var out: [UInt8] = [0xAA]
        let range = header.write(into: &out)
        #expect(range == 1..<out.count)
        let text = String(decoding: out[range], as: UTF8.self)
        #expect(text == "{\"msg_id\":\"id-1\",\"msg_type\":\"kernel_info_request\",\"username\":\"al\\\"ice\",\"session\":\"s1\",\"date\":\"2026-11-23T02:13:45.123456Z\",\"version\":\"5.3\"}")
        let fields = try HeaderFields.scan(header.bytes)
        #expect(fields.memberCount == 6)
        let dict = try #require(foundationJSON(header.bytes) as? [String: String])
        #expect(dict["username"] == "al\"ice" && dict["version"] == "5.3")
    }

    @Test func messageIDsAreRandomUUIDs() {
        var seen = Set<String>()
        for _ in 0..<200 {
            let id = MessageID.random()
            #expect(id.count == MessageID.length)
            let parsed = UUID(uuidString: id)
            #expect(parsed != nil)
            #expect(id == id.lowercased())
            let chars = Array(id)
            #expect(chars[14] == "4")
            #expect("89ab".contains(chars[19]))
            seen.insert(id)
        }
        #expect(seen.count == 200)
    }

    func rewrite(_ header: String, _ username: String) throws -> [String: Any] {
        let out = try HeaderRewriter.replaceUsername(in: utf8(header), with: username)
        _ = try HeaderFields.scan(out)
        return try #require(JSONSerialization.jsonObject(with: Data(out)) as? [String: Any])
    }

    @Test func rewriterReplacesOrInsertsUsername() throws {
        let replaced = try rewrite("{\"msg_id\":\"a\", \"username\" : \"mallory\", \"x\":[1]}", "alice")
        #expect(replaced["username"] as? String == "alice")
        #expect(replaced["msg_id"] as? String == "a")
        #expect(replaced.count == 3)
        let inserted = try rewrite(" {\"msg_id\":\"a\"} ", "bob \"the\" builder")
        #expect(inserted["username"] as? String == "bob \"the\" builder")
        #expect(inserted.count == 2)
        let empty = try rewrite("{ }", "carol")
        #expect(empty["username"] as? String == "carol" && empty.count == 1)
        let escapedKey = try rewrite("{\"user\\u006eame\":\"mallory\"}", "dave")
        #expect(escapedKey["username"] as? String == "dave" && escapedKey.count == 1)
        // Splicing keeps every other byte as it was.
        let exact = try HeaderRewriter.replaceUsername(in: utf8("{\"a\": 1,\"username\":\"m\",\"b\":2}"), with: "z")
        #expect(String(decoding: exact, as: UTF8.self) == "{\"a\": 1,\"username\":\"z\",\"b\":2}")
    }

    @Test func rewriterInPlaceInLegacyFrame() throws {
        let frame = utf8("{\"header\": {\"msg_id\": \"1\", \"username\": \"eve\"}, \"content\": {}}")
        let layout = try LegacyWebSocketCodec.decode(text: frame)
        var out: [UInt8] = []
        let range = try frame.withBytes { (raw) throws(ProtocolError) in
            try HeaderRewriter.replaceUsername(in: raw, fields: layout.headerFields, with: JSONStringLiteral("alice"), into: &out)
        }
        #expect(String(decoding: out[range], as: UTF8.self) == "{\"msg_id\": \"1\", \"username\": \"alice\"}")
        let bogus = HeaderFields(object: 0..<10_000)
        #expect(throws: ProtocolError.self) {
            try frame.withBytes { (raw) throws(ProtocolError) in
                try HeaderRewriter.replaceUsername(in: raw, fields: bogus, with: JSONStringLiteral("x"), into: &out)
            }
        }
    }
}
