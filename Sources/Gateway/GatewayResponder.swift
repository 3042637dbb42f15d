import Basics
import Authorization
import EventLoop
import Foundation
import HTTPServer
import JupyterProtocol
import KernelRuntime
import Logging
import Synchronization
import JSONValue

/// Everything a REST or channel handler needs about the request and who sent it.
struct RequestContext: Sendable {
    let request: HTTPRequest
    let identity: Identity
    let parameters: RouteParameters
    let peer: PeerInfo
}

typealias RouteHandler = @Sendable (GatewayResponder, RequestContext) async -> HTTPServerResponse

/// The HTTP face of the gateway: CORS, authentication, routing, and the REST and channel handlers (in the
/// `GatewayResponder+*.swift` files). Every route decides access through `Policy.decide` (`authorize`), and
/// every failure is a JSON error with a status code.
final class GatewayResponder: HTTPResponder {
    let configuration: GatewayConfiguration
    let registry: KernelRegistry
    let manager: KernelManager
    let sessions = SessionStore()
    let policy: PolicyStore
    let audit: AuditLog
    let logger: Logger
    let hubLimits: ChannelHub.Limits
    let metrics: GatewayMetrics
    let started = UTCTimestamp.now()
    private let lastActivityStore = Mutex(UTCTimestamp.now())
    private let nextConnectionID = Atomic<UInt64>(1)
    private let router: Router<Route>

    struct Route: Sendable {
        let pattern: String
        let handler: RouteHandler
    }

    init(configuration: GatewayConfiguration, registry: KernelRegistry, manager: KernelManager, policy: PolicyStore,
         audit: AuditLog, hubLimits: ChannelHub.Limits, metrics: GatewayMetrics, logger: Logger) {
        self.configuration = configuration
        self.registry = registry
        self.manager = manager
        self.policy = policy
        self.audit = audit
        self.hubLimits = hubLimits
        self.metrics = metrics
        self.logger = logger
        router = GatewayResponder.routes(baseURL: configuration.baseURL)
    }

    var lastActivity: UTCTimestamp { lastActivityStore.withLock { $0 } }

    func makeConnectionID() -> UInt64 { nextConnectionID.add(1, ordering: .relaxed).oldValue }

    /// The route table: every endpoint and its handler.
    private static func routes(baseURL: String) -> Router<Route> {
        var router = Router<Route>(baseURL: baseURL)
        func add(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping RouteHandler) {
            router.add(method, pattern, Route(pattern: pattern, handler: handler))
        }
        add(.get, "/api") { r, c in await r.apiVersion(c) }
        add(.get, "/api/status") { r, c in await r.apiStatus(c) }
        add(.get, "/api/me") { r, c in await r.apiMe(c) }
        add(.get, "/api/kernelspecs") { r, c in await r.listKernelspecs(c) }
        add(.get, "/api/kernelspecs/{name}") { r, c in await r.getKernelspec(c) }
        add(.get, "/kernelspecs/{name}/{file}") { r, c in await r.getKernelspecResource(c) }
        add(.get, "/api/kernels") { r, c in await r.listKernels(c) }
        add(.post, "/api/kernels") { r, c in await r.startKernel(c) }
        add(.get, "/api/kernels/{id}") { r, c in await r.getKernel(c) }
        add(.delete, "/api/kernels/{id}") { r, c in await r.deleteKernel(c) }
        add(.post, "/api/kernels/{id}/interrupt") { r, c in await r.interruptKernel(c) }
        add(.post, "/api/kernels/{id}/restart") { r, c in await r.restartKernel(c) }
        add(.get, "/api/kernels/{id}/channels") { r, c in await r.openChannels(c) }
        add(.get, "/api/kernels/{id}/access") { r, c in await r.getAccess(c) }
        add(.put, "/api/kernels/{id}/access") { r, c in await r.putAccess(c) }
        add(.get, "/api/sessions") { r, c in await r.listSessions(c) }
        add(.post, "/api/sessions") { r, c in await r.createSession(c) }
        add(.get, "/api/sessions/{id}") { r, c in await r.getSession(c) }
        add(.patch, "/api/sessions/{id}") { r, c in await r.patchSession(c) }
        add(.delete, "/api/sessions/{id}") { r, c in await r.deleteSession(c) }
        add(.get, "/metrics") { r, c in await r.getMetrics(c) }
        return router
    }

    // MARK: - HTTPResponder

    func respond(to request: HTTPRequest, peer: PeerInfo) async -> HTTPServerResponse {
        let start = Monotonic.now
        let (route, response) = await dispatch(request, peer: peer)
        let status: HTTPStatus
        switch response {
        case .response(let plain): status = plain.status
        case .upgrade: status = .switchingProtocols
        }
        metrics.recordRequest(route: route, method: request.method.rawValue, status: status,
                              seconds: Double(Monotonic.now &- start) / 1e9)
        return response
    }

    private func dispatch(_ request: HTTPRequest, peer: PeerInfo) async -> (String, HTTPServerResponse) {
        if request.method == .options { return ("preflight", .response(preflight(request))) }
        switch router.match(request) {
        case .notFound:
            return ("unmatched", withCORS(request, .response(.error(.notFound, message: "no such endpoint: \(request.path)", reason: "Not Found"))))
        case .methodNotAllowed(let allowed):
            var headers = HTTPHeaders()
            headers.set(name: "Allow", value: allowed.map(\.rawValue).joined(separator: ", "))
            return ("unmatched", withCORS(request, .response(.error(.methodNotAllowed, message: "\(request.method.rawValue) is not allowed on \(request.path)", reason: "Method Not Allowed", headers: headers))))
        case .found(let route, let parameters):
            let pattern = route.pattern
            let metricsOpen = configuration.metricsOpen && pattern == "/metrics"
            let identity: Identity
            if metricsOpen {
                identity = Identity(username: "anonymous", roles: [])
            } else {
                switch authenticate(request, peer: peer) {
                case .success(let who): identity = who
                case .failure(let response): return (pattern, withCORS(request, .response(response)))
                }
            }
            lastActivityStore.withLock { $0 = UTCTimestamp.now() }
            let context = RequestContext(request: request, identity: identity, parameters: parameters, peer: peer)
            return (pattern, withCORS(request, await route.handler(self, context)))
        }
    }

    // MARK: - Authentication

    private enum AuthenticationResult {
        case success(Identity)
        case failure(HTTPResponse)
    }

    private func authenticate(_ request: HTTPRequest, peer: PeerInfo) -> AuthenticationResult {
        guard let authenticator = policy.authenticator else {
            return .success(Identity(username: "anonymous", roles: ["admin"]))
        }
        var token: String?
        if let header = request.headers["Authorization"] { token = Tokens.fromAuthorizationHeader(header) }
        if token == nil { token = request.queryValue("token") }
        guard let token, !token.isEmpty else {
            audit.record(AuditEvent(timeMilliseconds: AuditLog.nowMilliseconds(), user: nil, action: "authenticate",
                                    resource: request.path, outcome: .unauthenticated, reason: "no token",
                                    remoteAddress: peer.remoteAddress))
            metrics.recordAuthenticationFailure()
            return .failure(.error(.unauthorized, message: "authentication required: send 'Authorization: token <token>' or ?token=", reason: "Unauthorized"))
        }
        guard let identity = authenticator.authenticate(token: token) else {
            audit.record(AuditEvent(timeMilliseconds: AuditLog.nowMilliseconds(), user: nil, action: "authenticate",
                                    resource: request.path, outcome: .unauthenticated, reason: "invalid token",
                                    remoteAddress: peer.remoteAddress))
            metrics.recordAuthenticationFailure()
            return .failure(.error(.unauthorized, message: "invalid token", reason: "Unauthorized"))
        }
        return .success(identity)
    }

    // MARK: - Authorization

    /// Decides with the one policy function; returns the error response (403, or 404 when the caller may not even
    /// see the resource) and audits the denial, or nil when allowed.
    func authorize(_ context: RequestContext, _ action: Action, _ resource: Resource, describing name: String) -> HTTPServerResponse? {
        let decision = policy.current.decide(context.identity, action, resource)
        guard case .denied(let denial) = decision else { return nil }
        audit.record(AuditEvent(timeMilliseconds: AuditLog.nowMilliseconds(), identity: context.identity, action: action,
                                resource: name, decision: decision, remoteAddress: context.peer.remoteAddress))
        metrics.recordDenial(reason: denial.code.description)
        if denial.hidden {
            return .response(.error(.notFound, message: "\(name) not found", reason: "Not Found"))
        }
        return .response(.error(.forbidden, message: "\(context.identity.username) may not \(action.rawValue) \(name): \(denial.reason)", reason: "Forbidden"))
    }

    // MARK: - CORS

    func isAllowedOrigin(_ origin: String) -> Bool {
        configuration.allowOrigins.contains("*") || configuration.allowOrigins.contains(origin)
    }

    private func preflight(_ request: HTTPRequest) -> HTTPResponse {
        var headers = HTTPHeaders()
        if let origin = request.headers["Origin"], isAllowedOrigin(origin) {
            headers.set(name: "Access-Control-Allow-Origin", value: origin)
            headers.set(name: "Access-Control-Allow-Methods", value: "GET, POST, PUT, PATCH, DELETE, OPTIONS")
            headers.set(name: "Access-Control-Allow-Headers", value: request.headers["Access-Control-Request-Headers"] ?? "Authorization, Content-Type")
            headers.set(name: "Access-Control-Max-Age", value: "600")
            headers.set(name: "Vary", value: "Origin")
        }
        return HTTPResponse(status: .noContent, headers: headers)
    }

    private func withCORS(_ request: HTTPRequest, _ response: HTTPServerResponse) -> HTTPServerResponse {
        guard case .response(var plain) = response, let origin = request.headers["Origin"], isAllowedOrigin(origin) else {
            return response
        }
        plain.headers.set(name: "Access-Control-Allow-Origin", value: origin)
        plain.headers.set(name: "Vary", value: "Origin")
        return .response(plain)
    }

    // MARK: - Helpers

    func fail(_ status: HTTPStatus, _ message: String) -> HTTPServerResponse {
        .response(.error(status, message: message, reason: status.reasonPhrase))
    }

    func json(_ value: JSONValue, status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders()) -> HTTPServerResponse {
        .response(.json(status, body: value.serialized(), headers: headers))
    }

    /// The request body as a JSON object; an empty body is `{}`. Errors name what is wrong.
    func bodyObject(_ request: HTTPRequest) -> Result<JSONObject, HTTPResponseError> {
        let body = request.body
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return .success([:]) }
        guard let value = try? JSONValue.parse(body) else {
            return .failure(HTTPResponseError(status: .badRequest, message: "the request body is not valid JSON"))
        }
        guard case .object(let object) = value else {
            return .failure(HTTPResponseError(status: .badRequest, message: "the request body must be a JSON object"))
        }
        return .success(object)
    }

    /// The record for the `{id}` parameter, or a 404 response.
    func kernelRecord(_ context: RequestContext) -> Result<KernelRecord, HTTPResponseError> {
        guard let id = context.parameters["id"], let record = registry.record(id) else {
            return .failure(HTTPResponseError(status: .notFound, message: "kernel \(context.parameters["id"] ?? "") not found"))
        }
        return .success(record)
    }
}

/// An error response carried through `Result`.
struct HTTPResponseError: Error {
    let status: HTTPStatus
    let message: String
    var response: HTTPServerResponse { .response(.error(status, message: message, reason: status.reasonPhrase)) }
}
