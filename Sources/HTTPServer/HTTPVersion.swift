/// The HTTP protocol version of a request, as reported by http_parser.
public struct HTTPVersion: Hashable, Sendable, CustomStringConvertible {
    /// Major version (1 for HTTP/1.x).
    public var major: Int
    /// Minor version (0 or 1 for HTTP/1.x).
    public var minor: Int

    /// Creates a version value.
    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// HTTP/1.0.
    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    /// HTTP/1.1.
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    /// `"HTTP/<major>.<minor>"`.
    public var description: String { "HTTP/\(major).\(minor)" }

    /// True when this version is at least `other`.
    public func isAtLeast(_ other: HTTPVersion) -> Bool {
        major > other.major || (major == other.major && minor >= other.minor)
    }
}
