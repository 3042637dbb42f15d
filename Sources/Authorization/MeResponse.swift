/// The body of `GET /api/me`, in Jupyter Server's shape:
/// `{"identity": {"username", "name", "display_name", "initials", "avatar_url", "color"},
///   "permissions": {resource: [allowed actions], "updatable_fields": []}}`.
public struct MeResponse: Sendable {
    /// The caller.
    public var identity: Identity
    /// The allowed subset from `Policy.allowedSubset(of:for:)`.
    public var permissions: [String: [String]]

    /// Creates the response for `identity` under `policy`, answering the parsed `?permissions=` request.
    public init(identity: Identity, policy: Policy, requested: [String: [String]]) {
        self.identity = identity
        self.permissions = policy.allowedSubset(of: requested, for: identity)
    }

    /// Parses the `permissions` query value: a JSON object of string keys to arrays of strings. An empty
    /// value means no permissions requested.
    /// - Throws: `AuthorizationFileError` with code `invalidJSON` or `wrongType` (answer 400 with its
    ///   message); the `file` is "permissions query".
    public static func parsePermissionsQuery(_ value: String) throws(AuthorizationFileError) -> [String: [String]] {
        if value.isEmpty { return [:] }
        let r = JSONDocumentReader(file: "permissions query")
        let members = try r.object(try r.parse(Array(value.utf8)), "")
        var out: [String: [String]] = [:]
        for (k, v) in members { out[k] = try r.stringArray(v, k) }
        return out
    }

    /// The JSON body. Keys of `permissions` are sorted for a stable output. This gateway has no updatable
    /// identity fields, so `updatable_fields` is empty (Jupyter Server adds that key too).
    public func json() -> [UInt8] {
        var w = JSONWriter()
        let name = identity.username
        let display = identity.displayName ?? name
        w.raw("{\"identity\":{\"username\":")
        w.string(name)
        w.raw(",\"name\":")
        w.string(display)
        w.raw(",\"display_name\":")
        w.string(display)
        w.raw(",\"initials\":null,\"avatar_url\":null,\"color\":null},\"permissions\":{")
        var first = true
        for key in permissions.keys.sorted() where key != "updatable_fields" {
            if !first { w.raw(",") }
            first = false
            w.string(key)
            w.raw(":")
            w.stringArray(permissions[key] ?? [])
        }
        if !first { w.raw(",") }
        w.raw("\"updatable_fields\":[]}}")
        return w.bytes
    }
}
