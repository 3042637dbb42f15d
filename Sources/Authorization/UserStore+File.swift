extension UserStore {
    /// The users file format version this code reads and writes.
    public static let fileVersion = 1

    /// Parses the contents of a users file (format in docs/authorization.md).
    /// - Throws: `AuthorizationFileError` naming the field, for malformed JSON, missing or unknown fields,
    ///   wrong types, invalid usernames or role names, malformed token hashes, duplicate usernames, or one
    ///   token hash shared by two users.
    public init(fileContents bytes: [UInt8]) throws(AuthorizationFileError) {
        let r = JSONDocumentReader(file: "users file")
        let root = try r.object(try r.parse(bytes), "", allowed: ["version", "users"])
        let version = try r.integer(try r.required(root, "version", ""), "version", min: 0)
        guard version == Self.fileVersion else {
            throw r.error(.unsupportedVersion, "version", "is \(version); this gateway reads version \(Self.fileVersion)")
        }
        self.init()
        let users = try r.array(try r.required(root, "users", ""), "users")
        for (i, item) in users.enumerated() {
            let path = "users[\(i)]"
            let fields = try r.object(item, path, allowed: ["username", "display_name", "roles", "token_hash", "unix_user"])
            let username = try r.string(try r.required(fields, "username", path), "\(path).username")
            guard UserRecord.isValidUsername(username) else {
                throw r.error(
                    .invalidValue, "\(path).username",
                    "'\(username)' is not a valid username (1-64 characters from A-Z a-z 0-9 . _ @ -)")
            }
            guard user(named: username) == nil else {
                throw r.error(.duplicate, "\(path).username", "user '\(username)' appears more than once")
            }
            var displayName: String?
            if let v = r.member(fields, "display_name"), v != .null {
                displayName = try r.string(v, "\(path).display_name")
            }
            let roles = try r.stringArray(try r.required(fields, "roles", path), "\(path).roles")
            for (j, role) in roles.enumerated() where !UserRecord.isValidRoleName(role) {
                throw r.error(.invalidValue, "\(path).roles[\(j)]", "'\(role)' is not a valid role name")
            }
            var digest: TokenDigest?
            if let v = r.member(fields, "token_hash"), v != .null {
                let s = try r.string(v, "\(path).token_hash")
                guard let d = TokenDigest(fileString: s) else {
                    // Deliberately not echoing the value: a token pasted here by mistake must not reach logs.
                    throw r.error(
                        .invalidValue, "\(path).token_hash",
                        "must be \"sha256:\" followed by 64 hex digits (the hash of the token, never the token)")
                }
                if let other = owner(of: d) {
                    throw r.error(.duplicate, "\(path).token_hash", "same token hash as user '\(other)'")
                }
                digest = d
            }
            var unixUser: String?
            if let v = r.member(fields, "unix_user"), v != .null {
                let name = try r.string(v, "\(path).unix_user")
                guard UserRecord.isValidUnixAccountName(name) else {
                    throw r.error(
                        .invalidValue, "\(path).unix_user",
                        "'\(name)' is not a valid Unix account name (1-32 characters from A-Z a-z 0-9 . _ -, not starting with -)")
                }
                unixUser = name
            }
            insertParsed(UserRecord(username: username, displayName: displayName, roles: roles, tokenDigest: digest,
                                    unixUser: unixUser))
        }
    }

    /// The users file for this store: deterministic (users sorted by name), pretty-printed, token hashes
    /// only. Parses back with `init(fileContents:)` to an equal store.
    public func fileContents() -> [UInt8] {
        var w = JSONWriter(capacity: 128 + users.count * 160)
        w.raw("{")
        w.newline(indent: 2)
        w.raw("\"version\": ")
        w.int(Self.fileVersion)
        w.raw(",")
        w.newline(indent: 2)
        w.raw("\"users\": [")
        for (i, u) in users.enumerated() {
            if i > 0 { w.raw(",") }
            w.newline(indent: 4)
            w.raw("{")
            w.newline(indent: 6)
            w.raw("\"username\": ")
            w.string(u.username)
            if let d = u.displayName {
                w.raw(",")
                w.newline(indent: 6)
                w.raw("\"display_name\": ")
                w.string(d)
            }
            w.raw(",")
            w.newline(indent: 6)
            w.raw("\"roles\": ")
            w.stringArray(u.roles)
            if let t = u.tokenDigest {
                w.raw(",")
                w.newline(indent: 6)
                w.raw("\"token_hash\": ")
                w.string(t.fileString)
            }
            if let account = u.unixUser {
                w.raw(",")
                w.newline(indent: 6)
                w.raw("\"unix_user\": ")
                w.string(account)
            }
            w.newline(indent: 4)
            w.raw("}")
        }
        if !users.isEmpty { w.newline(indent: 2) }
        w.raw("]")
        w.newline(indent: 0)
        w.raw("}")
        w.newline(indent: 0)
        return w.bytes
    }
}
