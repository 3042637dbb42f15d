import Glibc

/// Calls `body` with `address` (a `sockaddr_in` or `sockaddr_in6`) seen as a `sockaddr` and its size, as `bind`,
/// `connect` and `getsockname` want it. The pointer is valid only during the call.
func withSockaddr<Address, R>(_ address: inout Address, _ body: (UnsafeMutablePointer<sockaddr>, socklen_t) -> R) -> R {
    withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<Address>.size)) }
    }
}
