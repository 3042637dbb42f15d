import JSONValue

/// Reads typed fields out of a parsed JSON document (the policy file, the users file, a permissions query),
/// producing `AuthorizationFileError`s that name the document (`file`) and the field path. Reads no files: callers
/// pass the bytes.
struct JSONDocumentReader {
    let file: String

    func error(_ code: AuthorizationFileError.Code, _ field: String, _ detail: String) -> AuthorizationFileError {
        AuthorizationFileError(code, file: file, field: field, detail)
    }

    func parse(_ bytes: [UInt8]) throws(AuthorizationFileError) -> JSONValue {
        do {
            return try JSONValue.parse(bytes)
        } catch {
            throw self.error(.invalidJSON, "", "not valid JSON at byte \(error.offset): \(error.message)")
        }
    }

    func object(_ v: JSONValue, _ path: String, allowed: Set<String>? = nil) throws(AuthorizationFileError)
        -> JSONObject
    {
        guard case .object(let members) = v else {
            throw error(.wrongType, path, "must be an object, found \(v.typeName)")
        }
        if let allowed {
            for (k, _) in members where !allowed.contains(k) {
                throw error(
                    .unknownField, join(path, k),
                    "unknown field; expected one of: \(allowed.sorted().joined(separator: ", "))")
            }
        }
        return members
    }

    func member(_ members: JSONObject, _ key: String) -> JSONValue? {
        members[key]
    }

    func required(_ members: JSONObject, _ key: String, _ path: String) throws(AuthorizationFileError)
        -> JSONValue
    {
        guard let v = member(members, key) else { throw error(.missingField, join(path, key), "is required") }
        return v
    }

    func string(_ v: JSONValue, _ path: String) throws(AuthorizationFileError) -> String {
        guard case .string(let s) = v else { throw error(.wrongType, path, "must be a string, found \(v.typeName)") }
        return s
    }

    func array(_ v: JSONValue, _ path: String) throws(AuthorizationFileError) -> [JSONValue] {
        guard case .array(let a) = v else { throw error(.wrongType, path, "must be an array, found \(v.typeName)") }
        return a
    }

    func stringArray(_ v: JSONValue, _ path: String) throws(AuthorizationFileError) -> [String] {
        var out: [String] = []
        for (i, item) in try array(v, path).enumerated() { out.append(try string(item, "\(path)[\(i)]")) }
        return out
    }

    func integer(_ v: JSONValue, _ path: String, min: Int) throws(AuthorizationFileError) -> Int {
        guard case .integer(let n) = v, n >= Int64(min), n <= 1_000_000_000 else {
            throw error(.invalidValue, path, "must be an integer \(min) or more, found \(describe(v))")
        }
        return Int(n)
    }

    func describe(_ v: JSONValue) -> String {
        switch v {
        // Integers print as doubles ("-1.0"), as they did when every number was a Double.
        case .integer(let n): "\(Double(n))"
        case .double(let d): "\(d)"
        case .string(let s): "\"\(s)\""
        default: v.typeName
        }
    }

    func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}
