import JupyterProtocol
import Testing
@testable import echo_kernel

@Suite struct RequestContentTests {
    func scan(_ json: String) throws -> (RequestContent, [UInt8]) {
        let bytes = Array(json.utf8)
        let content = try bytes.withUnsafeBytes { raw throws(ProtocolError) in try RequestContent(scanning: raw) }
        return (content, bytes)
    }

    func text(_ bytes: [UInt8], _ range: Range<Int>?) -> String? {
        range.map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    @Test func executeFieldsAreLocated() throws {
        let (c, b) = try scan(#"{"code":"a\nb","silent":false,"store_history":true,"allow_stdin":true,"user_expressions":{"x":[1,{}]},"stop_on_error":false}"#)
        #expect(text(b, c.code?.range) == #""a\nb""#)
        #expect(c.code?.hasEscapes == true)
        b.withUnsafeBytes { raw in
            #expect(RequestContent.bool(c.silent, in: raw, default: true) == false)
            #expect(RequestContent.bool(c.storeHistory, in: raw, default: false) == true)
            #expect(RequestContent.bool(c.allowStdin, in: raw, default: false) == true)
            #expect(RequestContent.bool(c.stopOnError, in: raw, default: true) == false)
            #expect(RequestContent.bool(c.restart, in: raw, default: true) == true)
        }
    }

    @Test func commAndOtherFields() throws {
        let (c, b) = try scan(#"{ "comm_id" : "abc", "data": {"k": [1, 2]}, "target_name":"t", "cursor_pos": 12, "seq": 7, "command": "initialize", "value": "v"}"#)
        #expect(text(b, c.commID?.range) == #""abc""#)
        #expect(text(b, c.data) == #"{"k": [1, 2]}"#)
        #expect(text(b, c.targetName?.range) == #""t""#)
        #expect(text(b, c.command?.range) == #""initialize""#)
        #expect(text(b, c.value?.range) == #""v""#)
        b.withUnsafeBytes { raw in
            #expect(RequestContent.int(c.cursorPos, in: raw) == 12)
            #expect(RequestContent.int(c.seq, in: raw) == 7)
        }
    }

    @Test func escapedKeysAreRecognised() throws {
        let (c, b) = try scan(#"{"co\u0064e":"x"}"#)
        #expect(text(b, c.code?.range) == #""x""#)
    }

    @Test func wrongTypesAndBadJSONThrow() {
        #expect(throws: ProtocolError.self) { try scan(#"{"code": 5}"#) }
        #expect(throws: ProtocolError.self) { try scan(#"{"code": "a",}"#) }
        #expect(throws: ProtocolError.self) { try scan(#"["code"]"#) }
    }

    @Test func intRejectsNonIntegers() {
        let bytes = Array("-1 2.5 99999999999999999".utf8)
        bytes.withUnsafeBytes { raw in
            #expect(RequestContent.int(0..<2, in: raw) == nil)
            #expect(RequestContent.int(3..<6, in: raw) == nil)
            #expect(RequestContent.int(7..<24, in: raw) == nil)
            #expect(RequestContent.int(nil, in: raw) == nil)
        }
    }

    @Test func appendDecimalWritesIntegers() {
        for value in [0, 7, 10, 12345, -42, Int.max, Int.min] {
            var out: [UInt8] = []
            out.appendDecimal(value)
            #expect(String(decoding: out, as: UTF8.self) == String(value))
        }
    }
}
