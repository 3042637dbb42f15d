/// The gateway's base URL as the load generator needs it: `http://HOST:PORT/BASE/` (loopback in practice).
struct GatewayURL: Sendable, CustomStringConvertible {
    let host: String
    let port: UInt16
    /// The base path, always starting and ending with `/`.
    let basePath: String

    init(host: String, port: UInt16, basePath: String) {
        self.host = host
        self.port = port
        self.basePath = basePath
    }

    /// Parses `http://host[:port][/base]`. Returns nil for anything else (https and userinfo are not supported).
    init?(_ text: String) {
        guard text.hasPrefix("http://") else { return nil }
        let rest = text.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        var path = String(rest.dropFirst(authority.count))
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.isEmpty { port = 80 } else {
                guard after.first == ":", let p = UInt16(after.dropFirst()) else { return nil }
                port = p
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let p = UInt16(authority[authority.index(after: colon)...]) else { return nil }
            port = p
        } else {
            host = String(authority)
            port = 80
        }
        if !path.hasPrefix("/") { path = "/" + path }
        if !path.hasSuffix("/") { path += "/" }
        basePath = path
    }

    /// The `Host` header value.
    var hostHeader: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// `basePath` + `relative` (which must not start with `/`).
    func path(_ relative: String) -> String { basePath + relative }

    var description: String { "http://\(hostHeader)\(basePath)" }
}
