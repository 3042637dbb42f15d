import Foundation
import KernelRuntime
import ResourceLimits

extension GatewayConfiguration {
    /// One option: its flag, environment variable, config-file key, help text, and how to apply a value.
    struct Option: Sendable {
        /// `limit`: a string or, in the config file, a number.
        enum Kind: Sendable { case string, int, bool, list, limit }
        let flag: String
        let env: String
        let key: String
        let kind: Kind
        let help: String
        /// Left out of `--help` and the documented table (options for tests).
        var hidden = false
        let apply: @Sendable (inout GatewayConfiguration, String) throws -> Void
    }

    static let options: [Option] = [
        .init(flag: "--ip", env: "KG_IP", key: "ip", kind: .string, help: "Address to listen on (default 127.0.0.1).") { $0.ip = $1 },
        .init(flag: "--port", env: "KG_PORT", key: "port", kind: .int, help: "Port to listen on (default 8888; 0 picks a free one).") { $0.port = try int($1, "port", 0...65535) },
        .init(flag: "--port-retries", env: "KG_PORT_RETRIES", key: "port_retries", kind: .int, help: "Following ports to try when the port is busy (default 50).") { $0.portRetries = try int($1, "port_retries", 0...1000) },
        .init(flag: "--base-url", env: "KG_BASE_URL", key: "base_url", kind: .string, help: "Prefix of every route (default /).") { $0.baseURL = normalizeBaseURL($1) },
        .init(flag: "--token", env: "KG_AUTH_TOKEN", key: "token", kind: .string, help: "Shared token for single-user mode (generated and printed when absent).") { $0.token = $1.isEmpty ? nil : $1 },
        .init(flag: "--no-auth", env: "KG_NO_AUTH", key: "no_auth", kind: .bool, help: "Serve without a token (loopback experiments only).") { $0.noAuth = try bool($1, "no_auth") },
        .init(flag: "--users-file", env: "KG_USERS_FILE", key: "users_file", kind: .string, help: "JSON users file (multi-user mode; tokens stored as hashes).") { $0.usersFile = $1 },
        .init(flag: "--policy-file", env: "KG_POLICY_FILE", key: "policy_file", kind: .string, help: "JSON policy file extending the built-in roles.") { $0.policyFile = $1 },
        .init(flag: "--audit-log", env: "KG_AUDIT_LOG", key: "audit_log", kind: .string, help: "Path of the JSON-lines audit log.") { $0.auditLog = $1 },
        .init(flag: "--kernelspec-dir", env: "KG_KERNELSPEC_DIRS", key: "kernelspec_dirs", kind: .list, help: "Directory holding <name>/kernel.json, searched before the Jupyter path (repeatable; env: comma-separated).") { $0.kernelspecDirectories += list($1) },
        .init(flag: "--allowed-kernelspecs", env: "KG_ALLOWED_KERNELSPECS", key: "allowed_kernelspecs", kind: .list, help: "Comma-separated kernelspec names that may be started (default: all).") { $0.allowedKernelspecs += list($1) },
        .init(flag: "--default-kernel-name", env: "KG_DEFAULT_KERNEL_NAME", key: "default_kernel_name", kind: .string, help: "Kernelspec used when a start request names none.") { $0.defaultKernelName = $1 },
        .init(flag: "--max-kernels", env: "KG_MAX_KERNELS", key: "max_kernels", kind: .int, help: "Most kernels running at once (0 = no limit).") { $0.maxKernels = try int($1, "max_kernels", 0...1_000_000) },
        .init(flag: "--admin-reserved-kernels", env: "KG_ADMIN_RESERVED_KERNELS", key: "admin_reserved_kernels", kind: .int, help: "Of --max-kernels, the slots only admins may use (at most --max-kernels; default 10%, at least 1 but never all of them).") { $0.adminReservedKernels = try int($1, "admin_reserved_kernels", 0...1_000_000) },
        .init(flag: "--kernel-env-allow", env: "KG_KERNEL_ENV_ALLOW", key: "kernel_env_allow", kind: .list, help: "Gateway environment variables passed to kernels besides PATH, HOME, LANG.") { $0.kernelEnvAllowList += list($1) },
        .init(flag: "--runtime-dir", env: "KG_RUNTIME_DIR", key: "runtime_dir", kind: .string, help: "Where connection files go (default $JUPYTER_RUNTIME_DIR or ~/.local/share/jupyter/runtime).") { $0.runtimeDirectory = $1 },
        .init(flag: "--kernel-isolation", env: "KG_KERNEL_ISOLATION", key: "kernel_isolation", kind: .string, help: "none, unix-user or sandbox: how kernels are kept apart (default none; see docs/authorization.md).") {
            guard let mode = KernelIsolation.Mode(rawValue: $1.lowercased()) else {
                throw Error("'\($1)' is not one of none, unix-user, sandbox")
            }
            $0.kernelIsolation = mode
        },
        .init(flag: "--allow-shared-kernel-user", env: "KG_ALLOW_SHARED_KERNEL_USER", key: "allow_shared_kernel_user", kind: .bool, help: "Allow a users file with --kernel-isolation none (every user's kernels run as the gateway's OS user).") { $0.allowSharedKernelUser = try bool($1, "allow_shared_kernel_user") },
        .init(flag: "--unix-user-pattern", env: "KG_UNIX_USER_PATTERN", key: "unix_user_pattern", kind: .string, help: "Unix account of a gateway user, {username} substituted (e.g. jk-{username}); a users-file unix_user wins.") {
            guard $1.contains("{username}") else { throw Error("'\($1)' must contain {username}") }
            $0.unixUserPattern = $1
        },
        .init(flag: "--unix-uid-range", env: "KG_UNIX_UID_RANGE", key: "unix_uid_range", kind: .string, help: "MIN-MAX: uids of accounts that may run kernels (default 1000-59999; uid 0 never).") { $0.unixUIDRange = try uidRange($1) },
        .init(flag: "--kernel-home-root", env: "KG_KERNEL_HOME_ROOT", key: "kernel_home_root", kind: .string, help: "Per-user kernel homes are DIR/<username> (default: the account's home for unix-user, /var/lib/kernel-gateway/homes for sandbox).") { $0.kernelHomeRoot = try absolutePath($1) },
        .init(flag: "--kernel-dir-root", env: "KG_KERNEL_DIR_ROOT", key: "kernel_dir_root", kind: .string, help: "Per-kernel private directories (connection file, ipc sockets) are DIR/<kernel id> (default /run/kernel-gateway/kernels as root).") { $0.kernelDirRoot = try absolutePath($1) },
        .init(flag: "--kernel-network", env: "KG_KERNEL_NETWORK", key: "kernel_network", kind: .string, help: "none or host: whether isolated kernels get the host's network (default none: a namespace with only its own loopback).") {
            guard let network = KernelIsolation.Network(rawValue: $1.lowercased()) else {
                throw Error("'\($1)' is not one of none, host")
            }
            $0.kernelNetwork = network
        },
        .init(flag: "--sandbox-ro-bind", env: "KG_SANDBOX_RO_BIND", key: "sandbox_ro_bind", kind: .list, help: "Extra host paths visible read-only inside the sandbox (repeatable; env: comma-separated).") { $0.sandboxReadOnlyPaths += try list($1).map(absolutePath) },
        .init(flag: "--bwrap", env: "KG_BWRAP", key: "bwrap", kind: .string, help: "The bubblewrap executable (default /usr/bin/bwrap).") { $0.bubblewrapPath = try absolutePath($1) },
        .init(flag: "--kernel-memory-limit", env: "KG_KERNEL_MEMORY_LIMIT", key: "kernel_memory_limit", kind: .limit, help: "Memory of one kernel and everything it starts, e.g. 2G (default: none; kernelspecs and the policy may set their own).") { $0.kernelLimits.memoryBytes = try limit($1, MemorySize.parse) },
        .init(flag: "--kernel-cpu-limit", env: "KG_KERNEL_CPU_LIMIT", key: "kernel_cpu_limit", kind: .limit, help: "CPU of one kernel in cores, e.g. 1.5 (a CFS quota; default: none).") { $0.kernelLimits.cpuMillicores = try limit($1, CPUQuota.parse) },
        .init(flag: "--kernel-pids-limit", env: "KG_KERNEL_PIDS_LIMIT", key: "kernel_pids_limit", kind: .limit, help: "Processes and threads of one kernel (default: none).") { $0.kernelLimits.pids = try limit($1, ResourceLimits.parsePids) },
        .init(flag: "--user-memory-limit", env: "KG_USER_MEMORY_LIMIT", key: "user_memory_limit", kind: .limit, help: "Memory of all of one user's kernels together (default: none).") { $0.userLimits.memoryBytes = try limit($1, MemorySize.parse) },
        .init(flag: "--user-cpu-limit", env: "KG_USER_CPU_LIMIT", key: "user_cpu_limit", kind: .limit, help: "CPU of all of one user's kernels together, in cores (default: none).") { $0.userLimits.cpuMillicores = try limit($1, CPUQuota.parse) },
        .init(flag: "--user-pids-limit", env: "KG_USER_PIDS_LIMIT", key: "user_pids_limit", kind: .limit, help: "Processes and threads of all of one user's kernels together (default: none).") { $0.userLimits.pids = try limit($1, ResourceLimits.parsePids) },
        .init(flag: "--cgroup-root", env: "KG_CGROUP_ROOT", key: "cgroup_root", kind: .string, help: "Where cgroup hierarchies are mounted (tests only; default /sys/fs/cgroup).", hidden: true) { $0.cgroupRoot = try absolutePath($1) },
        .init(flag: "--cull-idle-timeout", env: "KG_CULL_IDLE_TIMEOUT", key: "cull_idle_timeout", kind: .int, help: "Seconds a kernel may stay idle before it is shut down (0 = never).") { $0.cullIdleTimeout = try int($1, "cull_idle_timeout", 0...Int(Int32.max)) },
        .init(flag: "--cull-interval", env: "KG_CULL_INTERVAL", key: "cull_interval", kind: .int, help: "Seconds between idle checks (default 300).") { $0.cullInterval = try int($1, "cull_interval", 1...Int(Int32.max)) },
        .init(flag: "--cull-connected", env: "KG_CULL_CONNECTED", key: "cull_connected", kind: .bool, help: "Also cull idle kernels that have connections.") { $0.cullConnected = try bool($1, "cull_connected") },
        .init(flag: "--cull-busy", env: "KG_CULL_BUSY", key: "cull_busy", kind: .bool, help: "Also cull kernels that are busy.") { $0.cullBusy = try bool($1, "cull_busy") },
        .init(flag: "--allow-origin", env: "KG_ALLOW_ORIGIN", key: "allow_origin", kind: .list, help: "CORS origins allowed (comma-separated; * for any).") { $0.allowOrigins += list($1) },
        .init(flag: "--max-header-bytes", env: "KG_MAX_HEADER_BYTES", key: "max_header_bytes", kind: .int, help: "Largest request head (431 beyond).") { $0.maxHeaderBytes = try int($1, "max_header_bytes", 1024...(16 << 20)) },
        .init(flag: "--max-body-bytes", env: "KG_MAX_BODY_BYTES", key: "max_body_bytes", kind: .int, help: "Largest request body (413 beyond; default 1 MiB). Requests without a valid token never have their body read.") { $0.maxBodyBytes = try int($1, "max_body_bytes", 0...(1 << 30)) },
        .init(flag: "--max-message-bytes", env: "KG_MAX_MESSAGE_BYTES", key: "max_message_bytes", kind: .int, help: "Largest WebSocket message (close 1009 beyond).") { $0.maxMessageBytes = try int($1, "max_message_bytes", 1024...(1 << 30)) },
        .init(flag: "--idle-timeout", env: "KG_IDLE_TIMEOUT", key: "idle_timeout", kind: .int, help: "Seconds an HTTP connection may stay silent between requests before it is closed.") { $0.idleTimeoutSeconds = try int($1, "idle_timeout", 1...86_400) },
        .init(flag: "--header-timeout", env: "KG_HEADER_TIMEOUT", key: "header_timeout", kind: .int, help: "Seconds from a request's first byte until its head is complete (408 and close beyond; default 10).") { $0.headerTimeoutSeconds = try int($1, "header_timeout", 1...3_600) },
        .init(flag: "--body-timeout", env: "KG_BODY_TIMEOUT", key: "body_timeout", kind: .int, help: "Seconds from the end of a request's head until its body is complete (408 and close beyond; default 30).") { $0.bodyTimeoutSeconds = try int($1, "body_timeout", 1...86_400) },
        .init(flag: "--max-connections", env: "KG_MAX_CONNECTIONS", key: "max_connections", kind: .int, help: "Open connections at once, WebSockets included (503 beyond; default 10000).") { $0.maxConnections = try int($1, "max_connections", 1...1_000_000) },
        .init(flag: "--max-connections-per-address", env: "KG_MAX_CONNECTIONS_PER_ADDRESS", key: "max_connections_per_address", kind: .int, help: "Open connections from one client IP address, WebSockets included (503 beyond; default 256).") { $0.maxConnectionsPerAddress = try int($1, "max_connections_per_address", 1...1_000_000) },
        .init(flag: "--ping-interval", env: "KG_PING_INTERVAL", key: "ping_interval", kind: .int, help: "Seconds between WebSocket pings; a peer silent for two intervals is closed.") { $0.pingIntervalSeconds = try int($1, "ping_interval", 1...3_600) },
        .init(flag: "--outbound-queue-bytes", env: "KG_OUTBOUND_QUEUE_BYTES", key: "outbound_queue_bytes", kind: .int, help: "Bytes queued towards one client before backpressure applies.") { $0.outboundQueueBytes = try int($1, "outbound_queue_bytes", 65_536...(1 << 30)) },
        .init(flag: "--reader-max-message-bytes", env: "KG_READER_MAX_MESSAGE_BYTES", key: "reader_max_message_bytes", kind: .int, help: "Largest message a user with only read access may send to a kernel.") { $0.readerMaxMessageBytes = try int($1, "reader_max_message_bytes", 256...(64 << 20)) },
        .init(flag: "--reader-messages-per-second", env: "KG_READER_MESSAGES_PER_SECOND", key: "reader_messages_per_second", kind: .int, help: "Messages a second one read-only connection may send (after a burst).") { $0.readerMessagesPerSecond = try int($1, "reader_messages_per_second", 1...1_000_000) },
        .init(flag: "--reader-burst", env: "KG_READER_BURST", key: "reader_burst", kind: .int, help: "Messages a read-only connection may send at once before the rate applies.") { $0.readerBurst = try int($1, "reader_burst", 1...1_000_000) },
        .init(flag: "--replay-buffer-bytes", env: "KG_REPLAY_BUFFER_BYTES", key: "replay_buffer_bytes", kind: .int, help: "Bytes of missed output kept per disconnected session.") { $0.replayBufferBytes = try int($1, "replay_buffer_bytes", 0...(1 << 30)) },
        .init(flag: "--log-level", env: "KG_LOG_LEVEL", key: "log_level", kind: .string, help: "trace, debug, info, notice, warning, error or critical (default info).") {
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains($1.lowercased()) else { throw Error("'\($1)' is not one of \(levels.joined(separator: ", "))") }
            $0.logLevel = $1.lowercased()
        },
        .init(flag: "--loops", env: "KG_LOOPS", key: "loops", kind: .int, help: "Event-loop threads (0 = one per core).") { $0.loops = try int($1, "loops", 0...256) },
        .init(flag: "--metrics-open", env: "KG_METRICS_OPEN", key: "metrics_open", kind: .bool, help: "Serve /metrics without a token.") { $0.metricsOpen = try bool($1, "metrics_open") },
    ]

    /// Builds the configuration. `arguments` excludes the program name. `readFile` loads the `--config` file.
    /// - Throws: `GatewayConfiguration.Error` naming the bad flag, variable, key or value.
    public static func load(arguments: [String], environment: [String: String],
                            readFile: (String) throws -> Data) throws -> Outcome {
        var config = GatewayConfiguration()
        var flagValues: [(Option, String)] = []
        var configPath = environment["KG_CONFIG"]
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            if arg == "--help" || arg == "-h" { return .help }
            var name = arg
            var inline: String?
            if let eq = arg.firstIndex(of: "="), arg.hasPrefix("--") {
                name = String(arg[..<eq])
                inline = String(arg[arg.index(after: eq)...])
            }
            if name == "--config" {
                guard let value = inline ?? (i + 1 < arguments.count ? arguments[i + 1] : nil) else {
                    throw Error("--config needs a file path")
                }
                configPath = value
                i += inline == nil ? 2 : 1
                continue
            }
            guard let option = options.first(where: { $0.flag == name }) else {
                throw Error("unknown option '\(arg)' (see --help)")
            }
            if let inline {
                flagValues.append((option, inline))
                i += 1
            } else if option.kind == .bool {
                flagValues.append((option, "true"))
                i += 1
            } else {
                guard i + 1 < arguments.count else { throw Error("\(option.flag) needs a value") }
                flagValues.append((option, arguments[i + 1]))
                i += 2
            }
        }
        if let configPath {
            let data: Data
            do { data = try readFile(configPath) } catch {
                throw Error("cannot read config file \(configPath): \(error)")
            }
            try applyConfigFile(data, path: configPath, to: &config)
            config.configFile = configPath
        }
        for option in options {
            if let value = environment[option.env] {
                do { try option.apply(&config, value) } catch let error as Error {
                    throw Error("environment \(option.env): \(error.message)")
                }
            }
        }
        // Flags replace (not extend) list values given by file or environment.
        var clearedLists: Set<String> = []
        for (option, value) in flagValues {
            if option.kind == .list && !clearedLists.contains(option.key) {
                clearedLists.insert(option.key)
                clear(option.key, in: &config)
            }
            do { try option.apply(&config, value) } catch let error as Error {
                throw Error("\(option.flag): \(error.message)")
            }
        }
        if let reserve = config.adminReservedKernels, reserve > config.maxKernels {
            throw Error("admin_reserved_kernels (\(reserve)) must not exceed max_kernels (\(config.maxKernels)); "
                        + "without a gateway-wide limit there is nothing to reserve")
        }
        return .run(config)
    }

    static func applyConfigFile(_ data: Data, path: String, to config: inout GatewayConfiguration) throws {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw Error("config file \(path) is not valid JSON")
        }
        guard let dict = object as? [String: Any] else { throw Error("config file \(path) must hold a JSON object") }
        for (key, value) in dict.sorted(by: { $0.key < $1.key }) {
            guard let option = options.first(where: { $0.key == key }) else {
                throw Error("config file \(path): unknown key '\(key)'")
            }
            let text: String
            switch value {
            case let s as String: text = s
            case let b as Bool where option.kind == .bool: text = b ? "true" : "false"
            case let n as NSNumber where option.kind == .int || option.kind == .limit: text = n.stringValue
            case let a as [Any] where option.kind == .list:
                guard let strings = a as? [String] else { throw Error("config file \(path): '\(key)' must be a list of strings") }
                text = strings.joined(separator: ",")
            default:
                throw Error("config file \(path): '\(key)' has the wrong type")
            }
            do { try option.apply(&config, text) } catch let error as Error {
                throw Error("config file \(path): \(key): \(error.message)")
            }
        }
    }

    static func clear(_ key: String, in config: inout GatewayConfiguration) {
        switch key {
        case "kernelspec_dirs": config.kernelspecDirectories = []
        case "allowed_kernelspecs": config.allowedKernelspecs = []
        case "kernel_env_allow": config.kernelEnvAllowList = []
        case "allow_origin": config.allowOrigins = []
        case "sandbox_ro_bind": config.sandboxReadOnlyPaths = []
        default: break
        }
    }

    static func int(_ text: String, _ name: String, _ range: ClosedRange<Int>) throws -> Int {
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw Error("'\(text)' is not a whole number")
        }
        guard range.contains(value) else {
            throw Error("\(value) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// A limit value: "none" (or empty) is no limit, anything else goes through `parse`.
    static func limit<T>(_ text: String, _ parse: (String) throws(LimitError) -> T) throws -> T? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed.lowercased() == "none" { return nil }
        do throws(LimitError) { return try parse(trimmed) } catch { throw Error(error.message) }
    }

    static func uidRange(_ text: String) throws -> ClosedRange<UInt32> {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let low = UInt32(parts[0].trimmingCharacters(in: .whitespaces)),
            let high = UInt32(parts[1].trimmingCharacters(in: .whitespaces)), low >= 1, low <= high
        else { throw Error("'\(text)' is not MIN-MAX with 1 <= MIN <= MAX") }
        return low...high
    }

    static func absolutePath(_ text: String) throws -> String {
        guard text.hasPrefix("/"), !text.utf8.contains(0) else { throw Error("'\(text)' must be an absolute path") }
        return text
    }

    static func bool(_ text: String, _ name: String) throws -> Bool {
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off", "": return false
        default: throw Error("'\(text)' is not true or false")
        }
    }

    static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    static func normalizeBaseURL(_ text: String) -> String {
        var s = text.trimmingCharacters(in: .whitespaces)
        if !s.hasPrefix("/") { s = "/" + s }
        if !s.hasSuffix("/") { s += "/" }
        return s
    }

    /// The `--help` text: every option with its environment variable and config-file key.
    public static var helpText: String {
        var lines = [
            "kernel-gateway: a multi-user Jupyter kernel gateway",
            "",
            "usage: kernel-gateway [options]",
            "       kernel-gateway users add NAME --role ROLE --file FILE | users remove NAME --file FILE | users list --file FILE",
            "",
            "Options (flag / environment variable / config-file key). Precedence: flag > environment > --config file > default.",
            "  --config FILE  (KG_CONFIG)  JSON file with any of the keys below.",
        ]
        for option in options where !option.hidden {
            let value: String
            switch option.kind {
            case .bool: value = ""
            case .int: value = " N"
            case .list: value = " A,B"
            case .string, .limit: value = " VALUE"
            }
            lines.append("  \(option.flag)\(value)  (\(option.env) / \(option.key))")
            lines.append("      \(option.help)")
        }
        lines.append("  --help  Show this text.")
        return lines.joined(separator: "\n") + "\n"
    }
}
