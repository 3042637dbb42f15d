/// A fatal problem at startup (bad arguments, unreadable connection file, a socket that cannot bind).
struct EchoKernelError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}
