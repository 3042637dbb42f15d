import Foundation

/// A JSON value as found in `kernel.json` (its free-form `metadata`) and in request bodies (client `env`).
///
/// Kept as a small enum so a kernelspec's metadata can be served back unchanged without the module knowing its
/// schema. Integers that fit in `Int64` stay integers so they round-trip exactly; other numbers are `Double`.
/// Named with a `Kernel` prefix so it does not collide with a JSON type of another module.
public enum KernelJSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([KernelJSONValue])
    case object([String: KernelJSONValue])

    /// Parses a complete JSON document. Throws `KernelRuntimeError` with code `.invalidJSON` whose message
    /// starts with `context` (for example the file path) when the bytes are not valid JSON.
    public static func parse(_ bytes: [UInt8], context: String) throws -> KernelJSONValue {
        do {
            return try JSONDecoder().decode(KernelJSONValue.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw KernelRuntimeError(.invalidJSON, "\(context): not valid JSON (\(Self.describe(error)))")
        } catch {
            throw KernelRuntimeError(.invalidJSON, "\(context): not valid JSON (\(error))")
        }
    }

    /// Serializes to compact JSON with object keys sorted, so equal values give equal bytes.
    public func serialized() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a tree of strings, numbers and containers cannot fail except for non-finite doubles,
        // which `parse` never produces; fall back to `null` rather than trapping.
        return (try? [UInt8](encoder.encode(self))) ?? Array("null".utf8)
    }

    /// The string payload, or nil for other kinds.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The object payload, or nil for other kinds.
    public var objectValue: [String: KernelJSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// A short name of the JSON kind ("string", "array"...) for error messages.
    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .integer, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context):
            return context.debugDescription
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context):
            return context.debugDescription
        @unknown default:
            return "\(error)"
        }
    }
}

extension KernelJSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([KernelJSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: KernelJSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
