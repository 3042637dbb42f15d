import Basics
import Authorization
import HTTPServer
import JupyterProtocol
import KernelRuntime
import JSONValue

extension GatewayResponder {
    static let version = "0.1.0"

    func apiVersion(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        try authorize(context, .read, .api, describing: "api")
        return json(.object(["version": .string(Self.version), "gateway": .string("kernel-gateway (Swift)")]))
    }

    func apiStatus(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        try authorize(context, .read, .api, describing: "api status")
        var lastActivity = lastActivity
        for record in manager.all {
            let kernelActivity = await record.kernel.lastActivity
            if kernelActivity.seconds > lastActivity.seconds
                || (kernelActivity.seconds == lastActivity.seconds && kernelActivity.microseconds > lastActivity.microseconds) {
                lastActivity = kernelActivity
            }
        }
        return json(.object([
            "started": .string(started.iso8601),
            "last_activity": .string(lastActivity.iso8601),
            "connections": .integer(Int64(totalConnections)),
            "kernels": .integer(Int64(manager.count)),
            "kernel_isolation": .string(configuration.kernelIsolation.rawValue),
            "warnings": .array(configuration.warnings.map { .string($0) }),
        ]))
    }

    func apiMe(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        try authorize(context, .read, .api, describing: "api me")
        var requested: [String: [String]] = [:]
        if let query = context.request.queryValue("permissions") {
            do { requested = try MeResponse.parsePermissionsQuery(query) } catch {
                throw RESTError(.badRequest, "'permissions' must be a JSON object of resource type to list of actions: \(error)")
            }
        }
        let me = MeResponse(identity: context.identity, policy: policy.current, requested: requested)
        return .response(.json(.ok, body: me.json()))
    }

    // MARK: - Kernelspecs

    func kernelspecModel(_ spec: KernelSpec) -> JSONValue {
        var resources: JSONObject = [:]
        for (key, file) in spec.resourceKeys() {
            resources[key] = .string(configuration.baseURL + "kernelspecs/" + spec.name + "/" + file)
        }
        return .object(["name": .string(spec.name), "spec": spec.specJSON(), "resources": .object(resources)])
    }

    func listKernelspecs(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        try authorize(context, .read, .kernelspecs, describing: "kernelspecs")
        let catalog = await manager.catalog
        var specs = JSONObject()
        for (name, spec) in catalog.specs { specs[name] = kernelspecModel(spec) }
        return json(.object([
            "default": catalog.defaultName.map { .string($0) } ?? .null,
            "kernelspecs": .object(specs),
        ]))
    }

    func getKernelspec(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        let name = context.parameters["name"] ?? ""
        try authorize(context, .read, .kernelspec(name), describing: "kernelspec \(name)")
        guard let spec = try? await manager.catalog.spec(named: name) else {
            throw RESTError(.notFound, "no such kernelspec: \(name)")
        }
        return json(kernelspecModel(spec))
    }

    func getKernelspecResource(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        let name = context.parameters["name"] ?? ""
        let file = context.parameters["file"] ?? ""
        try authorize(context, .read, .kernelspec(name), describing: "kernelspec \(name)")
        // The catalog only resolves regular files directly inside the spec's own directory.
        guard let path = try? await manager.catalog.resourcePath(kernel: name, file: file),
              let data = try? BoundedFileReader.read(path, maxBytes: 8 << 20, followSymlinks: false) else {
            throw RESTError(.notFound, "kernelspec \(name) has no resource \(file)")
        }
        var headers = HTTPHeaders()
        headers.set(name: "Content-Type", value: Self.contentType(for: file))
        return .response(HTTPResponse(status: .ok, headers: headers, body: data))
    }

    static func contentType(for file: String) -> String {
        if file.hasSuffix(".png") { return "image/png" }
        if file.hasSuffix(".svg") { return "image/svg+xml" }
        if file.hasSuffix(".js") { return "application/javascript" }
        if file.hasSuffix(".css") { return "text/css" }
        if file.hasSuffix(".json") { return "application/json" }
        return "application/octet-stream"
    }

    // MARK: - Metrics

    func getMetrics(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        if !configuration.metricsOpen {
            try authorize(context, .read, .metrics, describing: "metrics")
        }
        var kernelStates: [String: Int] = [:]
        var hubCounters: [ChannelRouter.Counters] = []
        var kernelTotals = GatewayMetrics.KernelTotals()
        var usage: [GatewayMetrics.KernelUsage] = []
        for record in manager.all {
            if let cgroup = record.kernel.cgroup {
                usage.append(.init(kernelID: record.id, owner: record.kernel.owner, usage: cgroup.usage(),
                                   memoryLimitBytes: cgroup.limits.kernel.memoryBytes))
            }
            let kernelCounters = await record.kernel.counters
            kernelTotals.badSignatures += kernelCounters.badSignatures
            kernelTotals.malformed += kernelCounters.malformed
            if await record.kernel.missedHeartbeats >= 2 { kernelTotals.unresponsive += 1 }
            let state = await record.kernel.executionState
            kernelStates["\(record.kernel.spec.name)\u{0}\(state.rawValue)", default: 0] += 1
            let hub = record.hub
            let counters = await withCheckedContinuation { (done: CheckedContinuation<ChannelRouter.Counters, Never>) in
                hub.loop.execute { done.resume(returning: hub.snapshot()) }
            }
            hubCounters.append(counters)
        }
        let text = metrics.render(kernelStates: kernelStates, hubCounters: hubCounters,
                                  connections: totalConnections, kernels: kernelTotals, usage: usage)
        var headers = HTTPHeaders()
        headers.set(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
        return .response(HTTPResponse(status: .ok, headers: headers, body: Array(text.utf8)))
    }
}
