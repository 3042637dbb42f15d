import Testing
import JSONValue

@Suite struct JSONObjectTests {
    @Test func subscriptAppendsReplacesAndRemovesKeepingOrder() {
        var object: JSONObject = ["b": .integer(1), "a": .integer(2), "c": .integer(3)]
        object["d"] = .null
        object["b"] = .string("x")
        #expect(object.keys == ["b", "a", "c", "d"])
        object["a"] = nil
        #expect(object.keys == ["b", "c", "d"])
        #expect(object["c"] == .integer(3))
        #expect(object["d"] == .null)
        #expect(object["a"] == nil)
        #expect(object.count == 3)
        object["a"] = .bool(false)
        #expect(object.keys == ["b", "c", "d", "a"])
    }

    @Test func fromDictionarySortsKeysAndRoundTrips() {
        let dictionary: [String: JSONValue] = ["q": .integer(1), "b": .null, "k": .string("v")]
        let object = JSONObject(dictionary)
        #expect(object.keys == ["b", "k", "q"])
        #expect(object.dictionary == dictionary)
        #expect(JSONObject().isEmpty)
        #expect(!object.isEmpty)
    }
}
