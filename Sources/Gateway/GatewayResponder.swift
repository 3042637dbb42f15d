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
    /// The digest of the token that authenticated the request (never the token); nil when none was needed.
    let tokenDigest: TokenDigest?
    let parameters: RouteParameters
    let peer: PeerInfo
}

/// A route's handler: the response, or the `RESTError` the responder renders.
typealias RouteHandler = @Sendable (GatewayResponder, RequestContext) async throws(RESTError) -> HTTPServerResponse

/// The HTTP face of the gateway: CORS, authentication, routing, and the REST and channel handlers (in the
/// `GatewayResponder+*.swift` files). Every route decides access through `Policy.decide` (`authorize`), and
/// every failure is a thrown `RESTError`, rendered in `dispatch` as a JSON error with a status code.
final class GatewayResponder: HTTPResponder {
    let configuration: GatewayConfiguration
    /// Starts and stops kernels, and keeps the one table of them (each with its hub and access grants).
    let manager: GatewayKernelManager
    let sessions: SessionStore
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

    init(configuration: GatewayConfiguration, manager: GatewayKernelManager, sessions: SessionStore,
         policy: PolicyStore, audit: AuditLog, hubLimits: ChannelHub.Limits, metrics: GatewayMetrics, logger: Logger) {
        self.configuration = configuration
        self.manager = manager
        self.sessions = sessions
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
        add(.get, "/api") { r, c throws(RESTError) in try await r.apiVersion(c) }
        add(.get, "/api/status") { r, c throws(RESTError) in try await r.apiStatus(c) }
        add(.get, "/api/me") { r, c throws(RESTError) in try await r.apiMe(c) }
        add(.get, "/api/kernelspecs") { r, c throws(RESTError) in try await r.listKernelspecs(c) }
        add(.get, "/api/kernelspecs/{name}") { r, c throws(RESTError) in try await r.getKernelspec(c) }
        add(.get, "/kernelspecs/{name}/{file}") { r, c throws(RESTError) in try await r.getKernelspecResource(c) }
        add(.get, "/api/kernels") { r, c throws(RESTError) in try await r.listKernels(c) }
        add(.post, "/api/kernels") { r, c throws(RESTError) in try await r.startKernel(c) }
        add(.get, "/api/kernels/{id}") { r, c throws(RESTError) in try await r.getKernel(c) }
        add(.delete, "/api/kernels/{id}") { r, c throws(RESTError) in try await r.deleteKernel(c) }
        add(.post, "/api/kernels/{id}/interrupt") { r, c throws(RESTError) in try await r.interruptKernel(c) }
        add(.post, "/api/kernels/{id}/restart") { r, c throws(RESTError) in try await r.restartKernel(c) }
        add(.get, "/api/kernels/{id}/channels") { r, c throws(RESTError) in try await r.openChannels(c) }
        add(.get, "/api/kernels/{id}/access") { r, c throws(RESTError) in try await r.getAccess(c) }
        add(.put, "/api/kernels/{id}/access") { r, c throws(RESTError) in try await r.putAccess(c) }
        add(.get, "/api/sessions") { r, c throws(RESTError) in try await r.listSessions(c) }
        add(.post, "/api/sessions") { r, c throws(RESTError) in try await r.createSession(c) }
        add(.get, "/api/sessions/{id}") { r, c throws(RESTError) in try await r.getSession(c) }
        add(.patch, "/api/sessions/{id}") { r, c throws(RESTError) in try await r.patchSession(c) }
        add(.delete, "/api/sessions/{id}") { r, c throws(RESTError) in try await r.deleteSession(c) }
        add(.get, "/metrics") { r, c throws(RESTError) in try await r.getMetrics(c) }
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

    /// Routes, authenticates and runs the handler; the one place a `RESTError` becomes a response.
    private func dispatch(_ request: HTTPRequest, peer: PeerInfo) async -> (String, HTTPServerResponse) {
        if request.method == .options { return ("preflight", .response(preflight(request))) }
        var pattern = "unmatched"
        do throws(RESTError) {
            let (route, parameters) = try match(request)
            pattern = route.pattern
            // Already authenticated on the head (`authorizeHead`); checked again because the identity is not
            // carried over, and a reload may have removed the user since.
            let (identity, tokenDigest) = isOpenMetrics(pattern)
                ? (Identity(username: "anonymous", roles: []), nil) : try authenticate(request, peer: peer)
            lastActivityStore.withLock { $0 = UTCTimestamp.now() }
            let context = RequestContext(request: request, identity: identity, tokenDigest: tokenDigest,
                                         parameters: parameters, peer: peer)
            return (pattern, withCORS(request, try await route.handler(self, context)))
        } catch {
            return (pattern, .response(withCORS(request, error.response)))
        }
    }

    /// The route of `request`; throws the 404 or 405.
    private func match(_ request: HTTPRequest) throws(RESTError) -> (Route, RouteParameters) {
        switch router.match(request) {
        case .notFound:
            throw RESTError(.notFound, "no such endpoint: \(request.path)")
        case .methodNotAllowed(let allowed):
            var headers = HTTPHeaders()
            headers.set(name: "Allow", value: allowed.map(\.rawValue).joined(separator: ", "))
            throw RESTError(.methodNotAllowed, "\(request.method.rawValue) is not allowed on \(request.path)",
                            headers: headers)
        case .found(let route, let parameters):
            return (route, parameters)
        }
    }

    private func isOpenMetrics(_ pattern: String) -> Bool { configuration.metricsOpen && pattern == "/metrics" }

    /// Errors the HTTP layer answers by itself (unparsable requests) get the same JSON shape as REST errors.
    func response(for error: HTTPError) -> HTTPResponse { RESTError(error).response }

    // MARK: - Request heads

    /// Decides on the head, before the HTTP layer reads any body: a request that would be answered 401, 404 or
    /// 405 is answered now, so a client without a valid token cannot make the gateway buffer a body. Requests
    /// answered without a token (CORS preflights, an open `/metrics`) may carry no body; authenticated ones up to
    /// `--max-body-bytes`.
    func authorizeHead(_ head: HTTPRequest, peer: PeerInfo) -> HTTPHeadDecision {
        if head.method == .options { return .proceed(maxBodyBytes: 0) }
        let start = Monotonic.now
        var pattern = "unmatched"
        do throws(RESTError) {
            pattern = try match(head).0.pattern
            if isOpenMetrics(pattern) { return .proceed(maxBodyBytes: 0) }
            _ = try authenticate(head, peer: peer)
            return .proceed
        } catch {
            metrics.recordRequest(route: pattern, method: head.method.rawValue, status: error.status,
                                  seconds: Double(Monotonic.now &- start) / 1e9)
            return .reject(withCORS(head, error.response))
        }
    }

    /// Counts connections the HTTP layer refused and requests it timed out.
    func observe(_ event: HTTPServerEvent) {
        switch event {
        case .connectionRefused(.perAddress): metrics.recordConnectionRefused(limit: "per_address")
        case .connectionRefused(.total): metrics.recordConnectionRefused(limit: "total")
        case .requestTimedOut(let stage): metrics.recordRequestTimeout(stage: stage == .body ? "body" : "head")
        }
    }

    // MARK: - Authentication

    /// The caller and the digest of the token they presented (hashed once here); nil digest without authentication.
    private func authenticate(_ request: HTTPRequest, peer: PeerInfo) throws(RESTError) -> (Identity, TokenDigest?) {
        guard let authenticator = policy.authenticator else {
            return (Identity(username: "anonymous", roles: ["admin"]), nil)
        }
        var token: String?
        if let header = request.headers["Authorization"] { token = Tokens.fromAuthorizationHeader(header) }
        if token == nil { token = request.queryValue("token") }
        guard let token, !token.isEmpty else {
            audit.record(AuditEvent(timeMilliseconds: AuditLog.nowMilliseconds(), user: nil, action: "authenticate",
                                    resource: request.path, outcome: .unauthenticated, reason: "no token",
                                    remoteAddress: peer.remoteAddress))
            metrics.recordAuthenticationFailure()
            throw RESTError(.unauthorized, "authentication required: send 'Authorization: token <token>' or ?token=")
        }
        let digest = TokenDigest(hashing: token)
        guard let identity = authenticator.authenticate(digest: digest) else {
            audit.record(AuditEvent(timeMilliseconds: AuditLog.nowMilliseconds(), user: nil, action: "authenticate",
                                    resource: request.path, outcome: .unauthenticated, reason: "invalid token",
                                    remoteAddress: peer.remoteAddress))
            metrics.recordAuthenticationFailure()
            throw RESTError(.unauthorized, "invalid token")
        }
        return (identity, digest)
    }

    // MARK: - Authorization

    /// Decides with the one policy function; when denied, audits the denial and throws 403 (naming the per-user
    /// kernel limit when that was hit), or 404 when the caller may not even see the resource.
    func authorize(_ context: RequestContext, _ action: Action, _ resource: Resource, describing name: String) throws(RESTError) {
        let decision = policy.current.decide(context.identity, action, resource)
        guard case .denied(let denial) = decision else { return }
        audit.record(AuditEvent(timeMilliseconds: AuditLog.nowMilliseconds(), identity: context.identity, action: action,
                                resource: name, decision: decision, remoteAddress: context.peer.remoteAddress))
        metrics.recordDenial(reason: denial.code.description)
        if denial.hidden { throw RESTError(.notFound, "\(name) not found") }
        var error = RESTError(.forbidden, "\(context.identity.username) may not \(action.rawValue) \(name): \(denial.reason)")
        if denial.code == .kernelLimitReached, let limit = denial.kernelLimit {
            error.kernelLimit = KernelLimitHit(.perUser, maxKernels: limit)
        }
        throw error
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
        guard case .response(let plain) = response else { return response }
        return .response(withCORS(request, plain))
    }

    private func withCORS(_ request: HTTPRequest, _ response: HTTPResponse) -> HTTPResponse {
        guard let origin = request.headers["Origin"], isAllowedOrigin(origin) else { return response }
        var response = response
        response.headers.set(name: "Access-Control-Allow-Origin", value: origin)
        response.headers.set(name: "Vary", value: "Origin")
        return response
    }

    // MARK: - Helpers

    func json(_ value: JSONValue, status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders()) -> HTTPServerResponse {
        .response(.json(status, body: value.serialized(), headers: headers))
    }

    /// The request body as a JSON object; an empty body is `{}`. Throws a 400 naming what is wrong.
    func bodyObject(_ request: HTTPRequest) throws(RESTError) -> JSONObject {
        let body = request.body
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return [:] }
        guard let value = try? JSONValue.parse(body) else {
            throw RESTError(.badRequest, "the request body is not valid JSON")
        }
        guard case .object(let object) = value else {
            throw RESTError(.badRequest, "the request body must be a JSON object")
        }
        return object
    }

    /// The record for the `{id}` parameter; throws a 404.
    func kernelRecord(_ context: RequestContext) throws(RESTError) -> KernelRecord {
        guard let id = context.parameters["id"], let record = manager.entry(id: id) else {
            throw RESTError(.notFound, "kernel \(context.parameters["id"] ?? "") not found")
        }
        return record
    }

    /// Clients connected to any kernel right now.
    var totalConnections: Int { manager.all.reduce(0) { $0 + $1.hub.connectionCount } }
}
