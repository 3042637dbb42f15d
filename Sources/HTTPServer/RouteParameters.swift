/// Values captured by a route's `{name}` and `{name*}` segments, percent-decoded.
public struct RouteParameters: Sendable, Equatable {
    var values: [(name: String, value: String)] = []

    /// Creates an empty set of parameters.
    public init() {}

    /// The value captured for `name`, or nil when the route has no such parameter.
    public subscript(name: String) -> String? {
        values.first { $0.name == name }?.value
    }

    /// Parameter names in pattern order.
    public var names: [String] { values.map(\.name) }

    public static func == (lhs: RouteParameters, rhs: RouteParameters) -> Bool {
        lhs.values.count == rhs.values.count
            && zip(lhs.values, rhs.values).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}
