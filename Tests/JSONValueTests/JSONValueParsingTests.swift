import Testing
import JSONValue

@Suite struct JSONValueParsingTests {
    @Test func keepsKindsApart() throws {
        let value = try JSONValue.parse(Array(#"[true, 1, 1.5, "s", null, {"a": []}, -7, 1e3, 1.0, -0]"#.utf8))
        #expect(value == .array([
            .bool(true), .integer(1), .double(1.5), .string("s"), .null, .object(["a": .array([])]), .integer(-7),
            .integer(1000), .integer(1), .integer(0),
        ]))
    }

    @Test func integersBeyondInt64BecomeDoublesAndLargeIntegersStayExact() throws {
        #expect(try JSONValue.parse(Array("9007199254740993".utf8)) == .integer(9_007_199_254_740_993))
        #expect(try JSONValue.parse(Array("-9223372036854775808".utf8)) == .integer(Int64.min))
        #expect(try JSONValue.parse(Array("12345678901234567890".utf8)) == .double(12_345_678_901_234_567_168))
        #expect(try JSONValue.parse(Array("1e20".utf8)) == .double(1e20))
    }

    @Test func objectsKeepDocumentOrderButCompareWithoutIt() throws {
        let value = try JSONValue.parse(Array(#"{"z": 1, "a": 2, "m": {"y": null, "b": true}}"#.utf8))
        let object = try #require(value.objectValue)
        #expect(object.keys == ["z", "a", "m"])
        #expect(object.map(\.key) == ["z", "a", "m"])
        #expect(value == .object(["a": .integer(2), "m": .object(["b": .bool(true), "y": .null]), "z": .integer(1)]))
        #expect(value.hashValue == JSONValue.object(["m": .object(["b": .bool(true), "y": .null]), "a": .integer(2), "z": .integer(1)]).hashValue)
        #expect(value != .object(["a": .integer(2), "z": .integer(1)]))
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try JSONValue.parse(Array(#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00""#.utf8))
        #expect(value == .string("a\"\\/\u{08}\u{0C}\n\r\té😀"))
    }

    @Test(arguments: [
        ("", 0, "unexpected end of input"),
        ("{", 1, "expected a key string"),
        (#"{"a" 1}"#, 5, "expected ':'"),
        (#"{"a": 1, "a": 2}"#, 9, "duplicate key \"a\""),
        ("[1 2]", 3, "expected ',' or ']'"),
        ("01", 2, "leading zero in number"),
        ("1.", 2, "invalid number"),
        ("1e400", 0, "number out of range"),
        ("tru", 0, "invalid literal"),
        (#""\ud800""#, 7, "unpaired surrogate"),
        ("\"a\u{01}\"", 2, "control character in string"),
        (#""\x""#, 3, "invalid escape"),
        ("{} x", 3, "unexpected data after the document"),
        (String(repeating: "[", count: 65), 64, "nesting deeper than 64"),
    ])
    func rejectsWithOffsetAndReason(input: String, offset: Int, message: String) {
        #expect(throws: JSONValue.ParseError(offset: offset, message: message)) {
            try JSONValue.parse(Array(input.utf8))
        }
    }

    @Test func rejectsInvalidUTF8InStrings() {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse([0x22, 0xFF, 0x22]) }
    }

    @Test func errorDescriptionNamesTheByte() {
        #expect(JSONValue.ParseError(offset: 3, message: "expected ':'").description == "at byte 3: expected ':'")
    }

    @Test func accessorsAndKindNames() {
        #expect(JSONValue.string("x").stringValue == "x")
        #expect(JSONValue.integer(1).stringValue == nil)
        #expect(JSONValue.array([.null]).arrayValue == [.null])
        #expect(JSONValue.object(["a": .null]).objectValue?["a"] == .null)
        #expect(JSONValue.null.objectValue == nil)
        #expect([JSONValue.null, .bool(true), .integer(1), .double(1.5), .string(""), .array([]), .object([:])].map(\.kindName)
            == ["null", "boolean", "number", "number", "string", "array", "object"])
        #expect(JSONValue.array([]).typeName == "an array")
        #expect(JSONValue.double(2).typeName == "a number")
    }
}
