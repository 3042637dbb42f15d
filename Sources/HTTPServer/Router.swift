/// Maps method + path to a handler value. A pure value type: build it once at start-up, then share
/// it freely (it is `Sendable` when `Handler` is).
///
/// All patterns live under `baseURL` (Jupyter's `base_url`, e.g. `/gateway/`). A request path that
/// is not under the base URL is `notFound`. One trailing slash is ignored (`/api/kernels/` matches
/// `/api/kernels`). When several routes match a path, the one with the most literal segments wins,
/// then the earliest registered. `HEAD` falls back to a `GET` route when no `HEAD` route exists.
public struct Router<Handler> {
    fileprivate struct Route {
        var method: HTTPMethod
        var pattern: RoutePattern
        var handler: Handler
    }

    /// The decoded base URL segments every route lives under.
    public let baseComponents: [String]
    private var routes: [Route] = []

    /// Creates an empty router under `baseURL` (default `/`). The base URL is given unencoded.
    public init(baseURL: String = "/") {
        baseComponents = baseURL.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    /// Registers `handler` for `method` on `pattern` (relative to the base URL). See `RoutePattern`.
    public mutating func add(_ method: HTTPMethod, _ pattern: String, _ handler: Handler) {
        routes.append(Route(method: method, pattern: RoutePattern(pattern), handler: handler))
    }

    /// Routes a parsed request by its method and decoded path components.
    public func match(_ request: HTTPRequest) -> RouteMatch<Handler> {
        match(method: request.method, pathComponents: request.pathComponents)
    }

    /// Routes `method` + decoded path segments (as in `HTTPRequest.pathComponents`).
    public func match(method: HTTPMethod, pathComponents: [String]) -> RouteMatch<Handler> {
        var components = pathComponents[...]
        if components.count > 0 && components.last == "" { components = components.dropLast() }
        guard components.count >= baseComponents.count,
              zip(components, baseComponents).allSatisfy({ $0 == $1 })
        else { return .notFound }
        components = components.dropFirst(baseComponents.count)

        var best: (route: Route, parameters: RouteParameters)?
        var bestGet: (route: Route, parameters: RouteParameters)?
        var allowed: [HTTPMethod] = []
        for route in routes {
            guard let parameters = route.pattern.match(components) else { continue }
            if !allowed.contains(route.method) { allowed.append(route.method) }
            if route.method == method {
                if best == nil || route.pattern.specificity > (best?.route.pattern.specificity ?? 0) {
                    best = (route, parameters)
                }
            } else if method == .head && route.method == .get {
                if bestGet == nil || route.pattern.specificity > (bestGet?.route.pattern.specificity ?? 0) {
                    bestGet = (route, parameters)
                }
            }
        }
        if let found = best ?? bestGet { return .found(found.route.handler, found.parameters) }
        if allowed.isEmpty { return .notFound }
        if allowed.contains(.get) && !allowed.contains(.head) { allowed.append(.head) }
        return .methodNotAllowed(allowed: allowed)
    }
}

extension Router: Sendable where Handler: Sendable {}

extension Router.Route: Sendable where Handler: Sendable {}
