import JupyterProtocol
import JSONValue
import ResourceLimits

extension Policy {
    /// The policy file format version this code reads.
    public static let fileVersion = 1

    /// Parses a policy file (format in docs/authorization.md) on top of the built-in roles and default
    /// channel rules.
    ///
    /// Channel rules: `"*/<msg_type>"` sets the type's level on every channel (it may lower a default);
    /// `"<channel>/<msg_type>"` may only raise it, and raises it on every channel, because kernels accept a
    /// message type on more than one channel. `unknown_message_level` applies before either.
    ///
    /// A role entry named like a built-in role, without `inherits`, modifies that built-in role; any other
    /// entry starts empty unless it `inherits` a built-in or file role. Each field given replaces the
    /// inherited value, except `permissions`, where each resource type given replaces that type only.
    /// - Throws: `AuthorizationFileError` naming the field: malformed JSON, unknown fields, wrong types,
    ///   unknown resource types, actions or levels, bad role names, inheritance cycles or unknown parents,
    ///   malformed channel rule keys, a rule naming one channel that would lower a message type's level.
    public init(fileContents bytes: [UInt8]) throws(AuthorizationFileError) {
        let r = JSONDocumentReader(file: "policy file")
        let root = try r.object(
            try r.parse(bytes), "", allowed: ["version", "roles", "channel_rules", "unknown_message_level"])
        let version = try r.integer(try r.required(root, "version", ""), "version", min: 0)
        guard version == Self.fileVersion else {
            throw r.error(.unsupportedVersion, "version", "is \(version); this gateway reads version \(Self.fileVersion)")
        }
        var roles = Role.builtIn
        if let v = r.member(root, "roles") {
            let entries = try r.object(v, "roles")
            var raw: [String: JSONObject] = [:]
            for (name, body) in entries {
                let path = "roles.\(name)"
                guard UserRecord.isValidRoleName(name) else {
                    throw r.error(.invalidValue, path, "'\(name)' is not a valid role name (1-64 of A-Z a-z 0-9 . _ @ -)")
                }
                raw[name] = try r.object(
                    body, path,
                    allowed: ["inherits", "permissions", "all_kernels", "kernelspecs", "max_kernels", "kernel_limits",
                              "user_limits"])
            }
            var resolved: [String: Role] = [:]
            for (name, _) in entries {
                _ = try Self.resolveRole(name, raw: raw, resolved: &resolved, visiting: [], reader: r)
            }
            for (name, role) in resolved { roles[name] = role }
        }
        var rules = ChannelRuleTable.defaults
        if let v = r.member(root, "unknown_message_level") {
            rules.setUnknownLevel(try Self.level(v, "unknown_message_level", r))
        }
        if let v = r.member(root, "channel_rules") {
            // `*/<type>` rules set a type's level first, whatever their order in the file; rules naming one
            // channel then only tighten it, on every channel (see ChannelRuleTable).
            var tightenings: [(path: String, msgType: String, level: AccessLevel)] = []
            for (key, levelValue) in try r.object(v, "channel_rules") {
                let path = "channel_rules.\(key)"
                let parts = key.split(separator: "/", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw r.error(.invalidValue, path, "key must be \"<channel>/<msg_type>\" (channel may be \"*\")")
                }
                let everyChannel = parts[0] == "*"
                if !everyChannel {
                    guard let c = Channel(name: String(parts[0])), Channel.messageChannels.contains(c) else {
                        throw r.error(
                            .invalidValue, path, "unknown channel '\(parts[0])'; use shell, control, stdin, iopub or *")
                    }
                }
                let msgType = String(parts[1])
                guard Self.isValidMsgType(msgType) else {
                    throw r.error(.invalidValue, path, "msg_type must be 1-64 characters from A-Z a-z 0-9 _ . -")
                }
                let level = try Self.level(levelValue, path, r)
                if everyChannel {
                    rules.setRule(msgType: msgType, level: level)
                } else {
                    tightenings.append((path, msgType, level))
                }
            }
            for t in tightenings {
                let current = rules.ownLevel(msgType: t.msgType)
                guard t.level >= current else {
                    throw r.error(
                        .invalidValue, t.path,
                        "\(t.msgType) needs \(current.name) on every channel; a rule naming one channel can only "
                            + "raise that (kernels accept a message type on several channels); use \"*/\(t.msgType)\" "
                            + "to lower it everywhere")
                }
                rules.tighten(msgType: t.msgType, to: t.level)
            }
        }
        self.init(roles: roles, channelRules: rules)
    }

    private static func level(_ v: JSONValue, _ path: String, _ r: JSONDocumentReader) throws(AuthorizationFileError)
        -> AccessLevel
    {
        let s = try r.string(v, path)
        guard let level = AccessLevel(name: s), level != .none else {
            throw r.error(.invalidValue, path, "'\(s)' is not a level; use read, execute or owner")
        }
        return level
    }

    /// A `kernel_limits` / `user_limits` object: `memory_limit`, `cpu_limit`, `pids_limit` (see `ResourceLimits`).
    private static func limits(_ v: JSONValue, _ path: String, _ r: JSONDocumentReader) throws(AuthorizationFileError)
        -> ResourceLimits
    {
        let object = try r.object(v, path)
        do throws(LimitError) { return try ResourceLimits(json: object) } catch {
            throw r.error(.invalidValue, path, error.message)
        }
    }

    static func isValidMsgType(_ s: String) -> Bool {
        let b = Array(s.utf8)
        return !b.isEmpty && b.count <= 64
            && b.allSatisfy { c in
                switch c {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
                    true
                default: false
                }
            }
    }

    private static func resolveRole(
        _ name: String, raw: [String: JSONObject], resolved: inout [String: Role],
        visiting: [String], reader r: JSONDocumentReader
    ) throws(AuthorizationFileError) -> Role {
        if let done = resolved[name] { return done }
        let path = "roles.\(name)"
        guard let fields = raw[name] else {
            // Only reached for parents: a built-in role not redefined in the file.
            if let builtIn = Role.builtIn[name] { return builtIn }
            throw r.error(.invalidValue, path, "unknown role")
        }
        var role: Role
        if let p = r.member(fields, "inherits") {
            let parent = try r.string(p, "\(path).inherits")
            if visiting.contains(parent) || parent == name {
                let cycle = (visiting + [name, parent]).joined(separator: " -> ")
                throw r.error(.invalidValue, "\(path).inherits", "inheritance cycle: \(cycle)")
            }
            if raw[parent] == nil, Role.builtIn[parent] == nil {
                throw r.error(.invalidValue, "\(path).inherits", "unknown role '\(parent)'")
            }
            role = try resolveRole(parent, raw: raw, resolved: &resolved, visiting: visiting + [name], reader: r)
            role.name = name
        } else {
            role = Role.builtIn[name] ?? Role(name: name, permissions: [:])
        }
        if let v = r.member(fields, "permissions") {
            for (typeName, actionsValue) in try r.object(v, "\(path).permissions") {
                let tpath = "\(path).permissions.\(typeName)"
                guard let type = ResourceType(rawValue: typeName) else {
                    let known = ResourceType.allCases.map(\.rawValue).joined(separator: ", ")
                    throw r.error(.invalidValue, tpath, "unknown resource type; use one of: \(known)")
                }
                var set: ActionSet = []
                for (i, a) in try r.stringArray(actionsValue, tpath).enumerated() {
                    guard let action = Action(rawValue: a) else {
                        throw r.error(.invalidValue, "\(tpath)[\(i)]", "'\(a)' is not an action; use read, write or execute")
                    }
                    set.insert(action.asSet)
                }
                role.permissions[type] = set
            }
        }
        if let v = r.member(fields, "all_kernels") {
            let s = try r.string(v, "\(path).all_kernels")
            guard let level = AccessLevel(name: s) else {
                throw r.error(.invalidValue, "\(path).all_kernels", "'\(s)' is not a level; use none, read, execute or owner")
            }
            role.allKernels = level
        }
        if let v = r.member(fields, "kernelspecs") {
            let patterns = try r.stringArray(v, "\(path).kernelspecs")
            for (i, p) in patterns.enumerated() where p.isEmpty {
                throw r.error(.invalidValue, "\(path).kernelspecs[\(i)]", "empty pattern")
            }
            role.kernelspecs = patterns.map { KernelspecPattern($0) }
        }
        if let v = r.member(fields, "max_kernels") {
            role.maxKernels = v == .null ? nil : try r.integer(v, "\(path).max_kernels", min: 0)
        }
        if let v = r.member(fields, "kernel_limits") {
            role.kernelLimits = try limits(v, "\(path).kernel_limits", r)
        }
        if let v = r.member(fields, "user_limits") {
            role.userLimits = try limits(v, "\(path).user_limits", r)
        }
        resolved[name] = role
        return role
    }
}
