/// The members of a JSON object, in document (or insertion) order, with unique keys.
///
/// Used like a `[String: JSONValue]` (dictionary literal, `subscript` get and set), but iteration follows the
/// order members were parsed or added, so validation errors about a file name its first faulty field.
/// Equality and hashing ignore order, as JSON does; `JSONValue.serialized()` sorts keys.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public typealias Element = (key: String, value: JSONValue)

    private var members: [Element] = []
    private var index: [String: Int] = [:]

    /// An empty object.
    public init() {}

    /// An object from a literal; a repeated key keeps its first position and its last value.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        for (k, v) in elements { self[k] = v }
    }

    /// An object with the dictionary's members, ordered by key so the result does not depend on hashing.
    public init(_ dictionary: [String: JSONValue]) {
        for k in dictionary.keys.sorted() { self[k] = dictionary[k] }
    }

    /// The value for `key`, or nil. Setting a new key appends it; setting nil removes the key.
    public subscript(key: String) -> JSONValue? {
        get { index[key].map { members[$0].value } }
        set {
            if let i = index[key] {
                if let newValue {
                    members[i].value = newValue
                } else {
                    members.remove(at: i)
                    index[key] = nil
                    for j in i..<members.count { index[members[j].key] = j }
                }
            } else if let newValue {
                index[key] = members.count
                members.append((key, newValue))
            }
        }
    }

    /// The keys in order.
    public var keys: [String] { members.map(\.key) }

    /// The number of members.
    public var count: Int { members.count }

    /// Whether there are no members.
    public var isEmpty: Bool { members.isEmpty }

    /// The members as a dictionary (order dropped).
    public var dictionary: [String: JSONValue] {
        Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// Iterates members in order.
    public func makeIterator() -> IndexingIterator<[Element]> { members.makeIterator() }

    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.count == b.count && a.members.allSatisfy { b[$0.key] == $0.value }
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent: combine per-member hashes commutatively, matching `==`.
        var combined = 0
        for (k, v) in members {
            var h = Hasher()
            h.combine(k)
            h.combine(v)
            combined ^= h.finalize()
        }
        hasher.combine(count)
        hasher.combine(combined)
    }
}
