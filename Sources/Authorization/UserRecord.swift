/// One entry of the users file. Holds a token digest, never a token.
public struct UserRecord: Sendable, Hashable {
    /// Unique name: 1–64 characters from `A-Z a-z 0-9 . _ @ -` (safe in logs and URLs).
    public var username: String
    /// Optional name for UIs.
    public var displayName: String?
    /// Role names (resolved against the policy).
    public var roles: [String]
    /// Digest of the user's current token; nil means the user cannot log in.
    public var tokenDigest: TokenDigest?
    /// The Unix account this user's kernels run as under kernel isolation (`unix_user` in the users file); nil
    /// means "use the gateway's `--unix-user-pattern`, if any".
    public var unixUser: String?

    /// Creates a record; `UserStore` validates before storing.
    public init(username: String, displayName: String? = nil, roles: [String], tokenDigest: TokenDigest?,
                unixUser: String? = nil) {
        self.username = username
        self.displayName = displayName
        self.roles = roles
        self.tokenDigest = tokenDigest
        self.unixUser = unixUser
    }

    /// The identity this user authenticates as.
    public var identity: Identity { Identity(username: username, roles: roles, displayName: displayName) }

    /// Whether `name` is an acceptable username.
    public static func isValidUsername(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 64 else { return false }
        return bytes.allSatisfy { b in
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "@"), UInt8(ascii: "-"):
                true
            default: false
            }
        }
    }

    /// Whether `name` is an acceptable Unix account name (POSIX portable: `[A-Za-z0-9._][A-Za-z0-9._-]*`,
    /// at most 32 bytes, as `useradd` accepts).
    public static func isValidUnixAccountName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 32, first != UInt8(ascii: "-") else { return false }
        return bytes.allSatisfy { b in
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default: false
            }
        }
    }

    /// Whether `name` is an acceptable role name (same alphabet as usernames).
    public static func isValidRoleName(_ name: String) -> Bool { isValidUsername(name) }
}
