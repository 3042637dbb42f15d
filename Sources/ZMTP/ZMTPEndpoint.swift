import Glibc

/// Where a ZMTP socket connects: `tcp://host:port` (numeric IPv4, bracketed numeric IPv6, or `localhost`) or
/// `ipc://path` (a unix domain socket; absolute or relative path, at most 107 bytes).
public enum ZMTPEndpoint: Equatable, Sendable, CustomStringConvertible {
    case tcp(host: String, port: UInt16, family: Int32)
    case ipc(path: String)

    /// Why an endpoint string was refused.
    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public let endpoint: String
        public let reason: String
        public var description: String { "bad ZMTP endpoint \"\(endpoint)\": \(reason)" }
    }

    /// The longest unix socket path (`sun_path` holds 108 bytes including the terminating zero).
    public static let maxIPCPathBytes = 107

    /// Parses an endpoint. Host names other than `localhost` are refused: resolving them would block the loop.
    /// - Throws: `ParseError` naming what is wrong.
    public init(parsing text: String) throws(ParseError) {
        func fail(_ reason: String) -> ParseError { ParseError(endpoint: text, reason: reason) }
        if text.hasPrefix("ipc://") {
            let path = String(text.dropFirst("ipc://".count))
            guard !path.isEmpty else { throw fail("empty path") }
            guard path.utf8.count <= Self.maxIPCPathBytes else {
                throw fail("path is \(path.utf8.count) bytes, unix sockets allow at most \(Self.maxIPCPathBytes)")
            }
            guard !path.utf8.contains(0) else { throw fail("path contains a zero byte") }
            self = .ipc(path: path)
            return
        }
        guard text.hasPrefix("tcp://") else { throw fail("only tcp:// and ipc:// are supported") }
        let rest = text.dropFirst("tcp://".count)
        guard let colon = rest.lastIndex(of: ":") else { throw fail("no port") }
        var host = String(rest[..<colon])
        let portText = rest[rest.index(after: colon)...]
        guard let port = UInt16(portText), port > 0 else { throw fail("port must be 1-65535") }
        var family = AF_INET
        if host.hasPrefix("[") && host.hasSuffix("]") && host.count > 2 {
            host = String(host.dropFirst().dropLast())
            family = AF_INET6
        } else if host == "localhost" {
            host = "127.0.0.1"
        }
        guard Self.isNumeric(host, family: family) else {
            throw fail("host must be a numeric address or localhost")
        }
        self = .tcp(host: host, port: port, family: family)
    }

    private static func isNumeric(_ host: String, family: Int32) -> Bool {
        var storage = in6_addr()
        return host.withCString { inet_pton(family, $0, &storage) } == 1
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port, let family): family == AF_INET6 ? "tcp://[\(host)]:\(port)" : "tcp://\(host):\(port)"
        case .ipc(let path): "ipc://\(path)"
        }
    }
}
