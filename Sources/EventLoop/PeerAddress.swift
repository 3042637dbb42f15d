import Glibc

/// The address of a connected socket's peer.
public enum PeerAddress {
    /// The printable address with port ("127.0.0.1:51234", "[::1]:51234"), or nil.
    public static func of(_ fd: Int32) -> String? {
        guard let (host, port) = hostAndPort(of: fd) else { return nil }
        return text(host: host, port: port)
    }

    /// "host:port", with an IPv6 host in brackets.
    public static func text(host: String, port: UInt16) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The numeric host ("127.0.0.1", "::1") and port of the peer, or nil (not a connected IP socket).
    public static func hostAndPort(of fd: Int32) -> (host: String, port: UInt16)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard rc == 0 else { return nil }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        func host() -> String {
            String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        switch Int32(storage.ss_family) {
        case AF_INET:
            var address = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in.self) }
            guard inet_ntop(AF_INET, &address.sin_addr, &text, socklen_t(text.count)) != nil else { return nil }
            return (host(), UInt16(bigEndian: address.sin_port))
        case AF_INET6:
            var address = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self) }
            guard inet_ntop(AF_INET6, &address.sin6_addr, &text, socklen_t(text.count)) != nil else { return nil }
            return (host(), UInt16(bigEndian: address.sin6_port))
        default:
            return nil
        }
    }
}
