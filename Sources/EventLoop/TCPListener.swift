import CLinuxShim
import Glibc

/// A listening TCP socket (IPv4 or IPv6) registered on an event loop; hands each accepted, non-blocking,
/// close-on-exec descriptor (with `TCP_NODELAY` set) to a callback on the loop thread.
public final class TCPListener: @unchecked Sendable {
    // @unchecked Sendable, audited: `fd` and `port` are immutable; `accepting` is touched only on `loop`'s thread.
    public let fd: Int32
    /// The bound port (useful when binding port 0).
    public let port: Int
    public let loop: EventLoop
    private var accepting = false

    /// Binds and listens on `host:port`. `host` is a numeric IPv4 or IPv6 address (`127.0.0.1`, `::1`, `0.0.0.0`).
    /// - Throws: `SystemError` (e.g. `EADDRINUSE`) or when the address is not numeric.
    public init(host: String, port: Int, backlog: Int32 = 1024, loop: EventLoop) throws {
        self.loop = loop
        var storage = sockaddr_storage()
        var length: socklen_t
        let family: Int32
        if host.contains(":") {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = in_port_t(UInt16(truncatingIfNeeded: port)).bigEndian
            guard inet_pton(AF_INET6, host, &addr.sin6_addr) == 1 else {
                throw SystemError("bad IPv6 address '\(host)'", code: EINVAL)
            }
            withUnsafeBytes(of: addr) { src in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            family = AF_INET6
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(truncatingIfNeeded: port)).bigEndian
            guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
                throw SystemError("bad IPv4 address '\(host)'", code: EINVAL)
            }
            withUnsafeBytes(of: addr) { src in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            family = AF_INET
        }
        let s = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw SystemError("socket") }
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, length) }
        }
        guard bound == 0 else {
            let err = SystemError("bind \(host):\(port)")
            Glibc.close(s)
            throw err
        }
        guard listen(s, backlog) == 0 else {
            let err = SystemError("listen")
            Glibc.close(s)
            throw err
        }
        length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &length) }
        }
        if named == 0 {
            if family == AF_INET6 {
                self.port = withUnsafeBytes(of: storage) { Int(UInt16(bigEndian: $0.load(as: sockaddr_in6.self).sin6_port)) }
            } else {
                self.port = withUnsafeBytes(of: storage) { Int(UInt16(bigEndian: $0.load(as: sockaddr_in.self).sin_port)) }
            }
        } else {
            self.port = port
        }
        fd = s
    }

    /// Starts accepting on the loop thread; `onAccept` gets each new descriptor (the callee owns it). Loop thread.
    public func startAccepting(_ onAccept: @escaping @Sendable (Int32) -> Void) throws {
        loop.preconditionInEventLoop()
        accepting = true
        let fd = self.fd
        try loop.register(fd: fd, events: EventLoop.readable) { _ in
            // Bounded batch per wake-up so a connection storm cannot starve other descriptors.
            for _ in 0..<64 {
                let client = kg_accept4(fd)
                if client < 0 { return }
                _ = kg_set_nodelay(client)
                onAccept(client)
            }
        }
    }

    /// Stops accepting and closes the socket. Loop thread.
    public func close() {
        loop.preconditionInEventLoop()
        if accepting { loop.deregister(fd: fd) }
        accepting = false
        Glibc.close(fd)
    }
}
