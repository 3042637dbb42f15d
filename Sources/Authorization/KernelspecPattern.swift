/// A kernelspec name pattern from the policy: a glob where `*` matches any run of characters (including
/// none) and `?` exactly one byte. `"*"` allows every kernelspec; a name without wildcards matches itself.
public struct KernelspecPattern: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The pattern as written in the policy file.
    public let pattern: String

    /// Creates a pattern; any string is a valid pattern.
    public init(_ pattern: String) { self.pattern = pattern }

    public init(stringLiteral value: String) { self.pattern = value }

    /// Whether `name` matches the whole pattern (case-sensitive, byte-wise on UTF-8).
    public func matches(_ name: String) -> Bool {
        if pattern == "*" { return true }
        let p = Array(pattern.utf8)
        let s = Array(name.utf8)
        // Iterative glob with single-star backtracking: linear in practice, no recursion.
        var pi = 0, si = 0
        var starP = -1, starS = 0
        while si < s.count {
            if pi < p.count && (p[pi] == UInt8(ascii: "?") || p[pi] == s[si]) {
                pi += 1; si += 1
            } else if pi < p.count && p[pi] == UInt8(ascii: "*") {
                starP = pi; starS = si; pi += 1
            } else if starP >= 0 {
                pi = starP + 1; starS += 1; si = starS
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }

    public var description: String { pattern }
}
