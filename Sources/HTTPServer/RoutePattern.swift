/// A parsed route pattern such as `/api/kernels/{kernel_id}/channels` or `/kernelspecs/{name}/{path*}`.
///
/// Segments are literal text, `{name}` (exactly one non-empty path segment), or `{name*}` (one or
/// more remaining segments, joined with `/`; only allowed last). Literal segments are compared
/// with the percent-decoded request segments, so write them unencoded.
public struct RoutePattern: Sendable, Equatable, CustomStringConvertible {
    /// One segment of a pattern.
    public enum Segment: Sendable, Equatable {
        /// Text that must equal the decoded request segment.
        case literal(String)
        /// `{name}`: captures one non-empty segment.
        case parameter(String)
        /// `{name*}`: captures all remaining segments (at least one), joined with `/`.
        case remainder(String)
    }

    /// The segments, without the leading `/`.
    public let segments: [Segment]

    /// Parses `pattern`. A leading and a trailing `/` are ignored; a `{name*}` that is not the last
    /// segment, or braces that do not enclose a whole segment, are treated as literal text.
    public init(_ pattern: String) {
        var parts = pattern.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.first == "" { parts.removeFirst() }
        if parts.last == "" { parts.removeLast() }
        var segments: [Segment] = []
        for (index, part) in parts.enumerated() {
            if part.count > 2, part.hasPrefix("{"), part.hasSuffix("}") {
                let inner = String(part.dropFirst().dropLast())
                if inner.hasSuffix("*"), inner.count > 1, index == parts.count - 1 {
                    segments.append(.remainder(String(inner.dropLast())))
                    continue
                }
                if !inner.contains("{") && !inner.contains("}") && !inner.contains("*") {
                    segments.append(.parameter(inner))
                    continue
                }
            }
            segments.append(.literal(part))
        }
        self.segments = segments
    }

    /// Number of literal segments; more literals means a more specific route.
    var specificity: Int {
        segments.reduce(0) { count, segment in
            if case .literal = segment { return count + 1 }
            return count
        }
    }

    /// Matches decoded path segments (already stripped of the base URL and of one trailing empty
    /// segment). Returns the captured parameters, or nil when the pattern does not match.
    func match(_ components: ArraySlice<String>) -> RouteParameters? {
        var parameters = RouteParameters()
        var index = components.startIndex
        for segment in segments {
            switch segment {
            case .literal(let text):
                guard index < components.endIndex, components[index] == text else { return nil }
                index += 1
            case .parameter(let name):
                guard index < components.endIndex, !components[index].isEmpty else { return nil }
                parameters.values.append((name, components[index]))
                index += 1
            case .remainder(let name):
                guard index < components.endIndex else { return nil }
                let rest = components[index...]
                guard !rest.contains(where: \.isEmpty) else { return nil }
                parameters.values.append((name, rest.joined(separator: "/")))
                index = components.endIndex
            }
        }
        return index == components.endIndex ? parameters : nil
    }

    /// The pattern in its source syntax, with a leading `/`.
    public var description: String {
        "/" + segments.map { segment in
            switch segment {
            case .literal(let text): text
            case .parameter(let name): "{\(name)}"
            case .remainder(let name): "{\(name)*}"
            }
        }.joined(separator: "/")
    }
}
