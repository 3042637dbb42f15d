/// Why a `KernelManager` could not start or find a kernel. `code` maps to an HTTP status in the gateway.
public struct KernelManagerError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Code: Sendable, Equatable {
        /// No such kernelspec (404).
        case unknownKernelSpec
        /// Bad input from the caller, e.g. an invalid `KERNEL_*` variable (400).
        case invalidRequest
        /// The gateway-wide kernel limit is reached (403).
        case limitReached
        /// Only the slots of the gateway-wide limit kept for admins are left, and the start may not use them
        /// (403).
        case reservedForAdmins
        /// The kernel process could not start or died before it was ready (500).
        case startFailed
        /// No kernel with that id (404).
        case notFound
        /// The gateway is stopping (503).
        case shuttingDown
        /// Kernel isolation refuses this user: no Unix account mapping, or an account that may not run
        /// kernels (403).
        case forbidden
        /// The request asked for more memory, CPU or processes than the kernelspec, policy or gateway allow (403).
        case aboveResourceLimit
    }
    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}
