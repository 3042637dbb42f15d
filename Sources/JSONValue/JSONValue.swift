/// A JSON document as a value: what configuration files (users, policy, `kernel.json`) and REST request and
/// response bodies are read into and built from.
///
/// Numbers that are integral and fit in `Int64` are `.integer` (so `1`, `1.0` and `1e3` all are), others are
/// `.double`; this keeps integers exact through a parse/serialize round trip. Objects keep document order
/// (`JSONObject`) so errors about a file can follow it, but compare equal regardless of order and serialize
/// with sorted keys. A plain value: immutable, `Sendable`, usable from any thread.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The string payload, or nil for other kinds.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The object payload, or nil for other kinds.
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The array payload, or nil for other kinds.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// A short name of the JSON kind ("string", "array", "number"...) for error messages.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer, .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The kind with its article ("a string", "an object", "null"), for messages like "must be a string,
    /// found an array".
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
