import Glibc
import Synchronization

/// Finds free TCP ports on 127.0.0.1 for a kernel's five channels.
///
/// It binds `count` sockets to port 0, reads the ports the kernel chose, and closes them; the kernel then binds
/// those ports itself. Between the close and the kernel's bind another process may take a port: that race is
/// inherent to Jupyter's design (jupyter_client has it too). The kernel then fails to start and the launcher
/// retries with fresh ports. To avoid handing the same port to two kernels launched close together, ports
/// given out stay reserved until `release` (call it when the kernel is gone); sockets are kept open until
/// all `count` ports are chosen so one allocation never repeats a port.
///
/// Thread-safe (the reservation set is behind a `Mutex`); `allocate` does blocking socket calls (fast).
public final class LoopbackPortAllocator: Sendable {
    private let reserved = Mutex<Set<Int>>([])

    /// Creates an allocator with no reservations.
    public init() {}

    /// One allocator for the whole process, so kernels started by different managers never share reserved ports.
    public static let shared = LoopbackPortAllocator()

    /// Returns `count` distinct free ports, none currently reserved, and reserves them. Throws
    /// `.systemCallFailed` when sockets cannot be created or bound.
    public func allocate(count: Int = 5) throws -> [Int] {
        // The lock is held across the binds (a few fast syscalls) so two concurrent allocations cannot pick
        // the same port between checking and reserving it.
        try reserved.withLock { set in
            var sockets: [Int32] = []
            defer { for fd in sockets { close(fd) } }
            var ports: [Int] = []
            while ports.count < count {
                guard sockets.count < count * 20 else {
                    throw KernelRuntimeError(.systemCallFailed, "could not find \(count) free loopback ports")
                }
                let (fd, port) = try bindEphemeral()
                sockets.append(fd)  // kept open so the next bind cannot return the same port
                if !set.contains(port) && !ports.contains(port) { ports.append(port) }
            }
            set.formUnion(ports)
            return ports
        }
    }

    /// Forgets the reservation of `ports` (after the kernel that used them has exited for good).
    public func release(_ ports: [Int]) {
        reserved.withLock { set in set.subtract(ports) }
    }

    /// The ports currently reserved (for diagnostics and tests).
    public var reservedPorts: Set<Int> { reserved.withLock { $0 } }

    private func bindEphemeral() throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            throw KernelRuntimeError(.systemCallFailed, "socket() failed (\(FileSystem.errnoText()))")
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = bound == 0 ? withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        } : -1
        guard named == 0 else {
            let text = FileSystem.errnoText()
            close(fd)
            throw KernelRuntimeError(.systemCallFailed, "binding 127.0.0.1:0 failed (\(text))")
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}
