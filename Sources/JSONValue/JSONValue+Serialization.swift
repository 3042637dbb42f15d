import Foundation

extension JSONValue {
    /// Serializes to compact JSON with object keys sorted and `/` unescaped, so equal values give equal bytes.
    ///
    /// Uses Foundation's encoder, whose number and string spelling the REST responses have always had
    /// (for example `1e+20`, `1000` for the double 1000). Not for hot paths. Non-finite doubles, which `parse`
    /// never produces, serialize the whole value as `null` rather than trapping.
    public func serialized() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? [UInt8](encoder.encode(self))) ?? Array("null".utf8)
    }
}

extension JSONValue: Encodable {
    /// Encodes the value as itself (an object as a keyed container); used by `serialized()`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value.dictionary)
        }
    }
}
