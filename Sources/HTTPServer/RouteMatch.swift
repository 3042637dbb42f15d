/// The result of routing a request.
public enum RouteMatch<Handler> {
    /// A route matched path and method.
    case found(Handler, RouteParameters)
    /// No route matches the path (answer 404).
    case notFound
    /// Some route matches the path, but not with this method (answer 405 with an `Allow` header
    /// listing `allowed`).
    case methodNotAllowed(allowed: [HTTPMethod])
}

extension RouteMatch: Sendable where Handler: Sendable {}
