import Testing
import JSONValue

@Suite struct JSONValueSerializationTests {
    private func text(_ value: JSONValue) -> String { String(decoding: value.serialized(), as: UTF8.self) }

    @Test func serializesCompactlyWithSortedKeys() {
        let value = JSONValue.object(["b": .integer(2), "a": .array([.string("x/y"), .bool(false), .null])])
        #expect(text(value) == #"{"a":["x/y",false,null],"b":2}"#)
    }

    @Test func keyOrderOfTheDocumentDoesNotChangeTheBytes() throws {
        let one = try JSONValue.parse(Array(#"{"z": {"y": 1, "x": [2.5, "\n"]}, "a": -3}"#.utf8))
        let two = try JSONValue.parse(Array(#"{"a": -3, "z": {"x": [2.5, "\n"], "y": 1}}"#.utf8))
        #expect(one.serialized() == two.serialized())
        #expect(text(one) == #"{"a":-3,"z":{"x":[2.5,"\n"],"y":1}}"#)
    }

    @Test(arguments: [
        (JSONValue.double(1e20), "1e+20"),
        (.double(0.1), "0.1"),
        (.integer(Int64.max), "9223372036854775807"),
        (.string("é\u{01}\"\\"), #""é\u0001\"\\""#),
        (.object([:]), "{}"),
        (.array([]), "[]"),
    ])
    func spellsScalarsAsTheRESTBodiesDid(value: JSONValue, expected: String) {
        #expect(text(value) == expected)
    }

    @Test func serializedFormParsesBackToAnEqualValue() throws {
        let value = JSONValue.object([
            "s": .string("a\u{2028}b😀"), "n": .array([.integer(-1), .double(2.25), .null, .bool(true)]),
            "o": .object(["k": .object([:])]),
        ])
        #expect(try JSONValue.parse(value.serialized()) == value)
    }
}
