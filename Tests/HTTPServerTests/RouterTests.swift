import Testing
@testable import HTTPServer

@Suite struct RouterTests {
    private func router(base: String = "/") -> Router<String> {
        var router = Router<String>(baseURL: base)
        router.add(.get, "/api", "api")
        router.add(.get, "/api/kernels", "list")
        router.add(.post, "/api/kernels", "start")
        router.add(.get, "/api/kernels/{kernel_id}", "get")
        router.add(.delete, "/api/kernels/{kernel_id}", "delete")
        router.add(.post, "/api/kernels/{kernel_id}/{action}", "action")
        router.add(.post, "/api/kernels/{kernel_id}/restart", "restart")
        router.add(.get, "/api/kernels/{kernel_id}/channels", "channels")
        router.add(.get, "/kernelspecs/{name}/{path*}", "resource")
        return router
    }

    private func components(_ path: String) -> [String] {
        (try? HTTPRequest(method: .get, target: path).pathComponents) ?? []
    }

    private func found(_ match: RouteMatch<String>) -> (String, RouteParameters)? {
        if case .found(let handler, let parameters) = match { return (handler, parameters) }
        return nil
    }

    @Test func matchesLiteralAndParameterRoutes() throws {
        let r = router()
        #expect(found(r.match(method: .get, pathComponents: components("/api")))?.0 == "api")
        #expect(found(r.match(method: .get, pathComponents: components("/api/kernels")))?.0 == "list")
        #expect(found(r.match(method: .post, pathComponents: components("/api/kernels")))?.0 == "start")
        let get = try #require(found(r.match(method: .get, pathComponents: components("/api/kernels/abc-1"))))
        #expect(get.0 == "get")
        #expect(get.1["kernel_id"] == "abc-1")
        #expect(get.1["other"] == nil)
        let channels = try #require(found(r.match(method: .get, pathComponents: components("/api/kernels/k%201/channels"))))
        #expect(channels.0 == "channels")
        #expect(channels.1["kernel_id"] == "k 1")
    }

    @Test func moreLiteralSegmentsWin() throws {
        let r = router()
        let restart = try #require(found(r.match(method: .post, pathComponents: components("/api/kernels/k/restart"))))
        #expect(restart.0 == "restart")
        let interrupt = try #require(found(r.match(method: .post, pathComponents: components("/api/kernels/k/interrupt"))))
        #expect(interrupt.0 == "action")
        #expect(interrupt.1["action"] == "interrupt")
        #expect(interrupt.1.names == ["kernel_id", "action"])
    }

    @Test func notFoundVersusMethodNotAllowed() {
        let r = router()
        guard case .notFound = r.match(method: .get, pathComponents: components("/api/nothing")) else {
            Issue.record("expected 404")
            return
        }
        guard case .notFound = r.match(method: .get, pathComponents: components("/api/kernels/a/b/c")) else {
            Issue.record("expected 404 for too many segments")
            return
        }
        guard case .methodNotAllowed(let allowed) = r.match(method: .put, pathComponents: components("/api/kernels/k")) else {
            Issue.record("expected 405")
            return
        }
        #expect(Set(allowed) == [.get, .delete, .head])
    }

    @Test func trailingSlashAndEmptyParameter() {
        let r = router()
        #expect(found(r.match(method: .get, pathComponents: components("/api/kernels/")))?.0 == "list")
        guard case .notFound = r.match(method: .get, pathComponents: components("/api/kernels//channels")) else {
            Issue.record("an empty segment must not bind a parameter")
            return
        }
    }

    @Test func baseURLPrefix() {
        let r = router(base: "/gateway/")
        #expect(found(r.match(method: .get, pathComponents: components("/gateway/api/kernels")))?.0 == "list")
        guard case .notFound = r.match(method: .get, pathComponents: components("/api/kernels")) else {
            Issue.record("route outside base URL matched")
            return
        }
        guard case .notFound = r.match(method: .get, pathComponents: components("/gatewayx/api/kernels")) else {
            Issue.record("prefix must match whole segments")
            return
        }
    }

    @Test func remainderParameter() throws {
        let r = router()
        let resource = try #require(found(r.match(method: .get, pathComponents: components("/kernelspecs/python3/logo%2064.png"))))
        #expect(resource.1["name"] == "python3")
        #expect(resource.1["path"] == "logo 64.png")
        let nested = try #require(found(r.match(method: .get, pathComponents: components("/kernelspecs/python3/a/b.js"))))
        #expect(nested.1["path"] == "a/b.js")
        guard case .notFound = r.match(method: .get, pathComponents: components("/kernelspecs/python3")) else {
            Issue.record("remainder needs at least one segment")
            return
        }
    }

    @Test func headFallsBackToGet() {
        let r = router()
        #expect(found(r.match(method: .head, pathComponents: components("/api/kernels")))?.0 == "list")
    }

    @Test func matchByRequest() throws {
        let request = try HTTPRequest(method: .delete, target: "/api/kernels/xyz?force=1")
        let match = try #require(found(router().match(request)))
        #expect(match.0 == "delete")
        #expect(match.1["kernel_id"] == "xyz")
    }

    @Test func patternParsing() {
        #expect(RoutePattern("/a/{b}/{c*}").segments == [.literal("a"), .parameter("b"), .remainder("c")])
        #expect(RoutePattern("/a/{c*}/d").segments == [.literal("a"), .literal("{c*}"), .literal("d")])
        #expect(RoutePattern("/a/{b}/").description == "/a/{b}")
    }
}
