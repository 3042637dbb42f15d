import Authorization
import HTTPServer
import JupyterProtocol
import KernelRuntime
import EventLoop
import JSONValue
import ResourceLimits

extension GatewayResponder {
    /// The Jupyter kernel model: id, name, last_activity, execution_state, connections.
    func model(_ record: KernelRecord) async -> JSONValue {
        let kernel = record.kernel
        let state = await kernel.executionState
        let lastActivity = await kernel.lastActivity
        var model: JSONObject = [
            "id": .string(kernel.id),
            "name": .string(kernel.spec.name),
            "last_activity": .string(lastActivity.iso8601),
            "execution_state": .string(state.rawValue),
            "connections": .integer(Int64(record.hub.connectionCount)),
        ]
        // Jupyter adds "reason" only when there is one (a dead kernel); the gateway also while it restarts after a
        // failure (an OOM kill, a crash).
        let deathReason = await kernel.deathReason
        let failureReason = await kernel.failureReason
        if let reason = deathReason ?? failureReason, !reason.isEmpty {
            model["reason"] = .string(reason)
        }
        if let cgroup = kernel.cgroup {
            let usage = cgroup.usage()
            var used: JSONObject = [:]
            if let bytes = usage.memoryBytes { used["memory_bytes"] = .integer(Int64(clamping: bytes)) }
            if let seconds = usage.cpuSeconds { used["cpu_seconds"] = .double(seconds) }
            if let pids = usage.pids { used["pids"] = .integer(Int64(clamping: pids)) }
            model["usage"] = .object(used)
            model["limits"] = limitsModel(cgroup.limits)
        }
        return .object(model)
    }

    /// `{"memory_bytes": ..., "cpu_cores": ..., "pids": ..., "user": {...}}`: the kernel's limits and its owner's
    /// (absent fields: no limit).
    func limitsModel(_ limits: LimitResolution.Resolved) -> JSONValue {
        func object(_ l: ResourceLimits) -> JSONObject {
            var o: JSONObject = [:]
            if let bytes = l.memoryBytes { o["memory_bytes"] = .integer(Int64(clamping: bytes)) }
            if let millicores = l.cpuMillicores { o["cpu_cores"] = .double(Double(millicores) / 1000) }
            if let pids = l.pids { o["pids"] = .integer(Int64(pids)) }
            return o
        }
        var kernel = object(limits.kernel)
        kernel["user"] = .object(object(limits.user))
        return .object(kernel)
    }

    func listKernels(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        try authorize(context, .read, .kernels, describing: "kernels")
        let current = policy.current
        let permissions = current.permissions(for: context.identity)
        var models: [JSONValue] = []
        for record in manager.all where current.canRead(permissions, kernel: record.access.snapshot) {
            models.append(await model(record))
        }
        return json(.array(models))
    }

    func getKernel(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        try await withKernel(context, .read) { record throws(RESTError) in
            json(await model(record))
        }
    }

    func startKernel(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        let body = try bodyObject(context.request)
        var name: String?
        switch body["name"] {
        case nil, .null?: name = nil
        case .string(let value)?: name = value.isEmpty ? nil : value
        default: throw RESTError(.badRequest, "'name' must be a string")
        }
        var environment: [String: JSONValue] = [:]
        switch body["env"] {
        case nil, .null?: break
        case .object(let values)?: environment = values.dictionary
        default: throw RESTError(.badRequest, "'env' must be an object of strings")
        }
        let record = try await launch(name: name, environment: environment, context: context, sessionResource: false)
        var headers = HTTPHeaders()
        headers.set(name: "Location", value: configuration.baseURL + "api/kernels/" + record.id)
        return json(await model(record), status: .created, headers: headers)
    }

    /// Starts a kernel for the caller (authorization, limits, KERNEL_USERNAME) with its hub and access grants
    /// attached before it becomes visible, and audits it. Limits, in order: the caller's per-user limit (policy),
    /// the gateway-wide `--max-kernels`, and its last slots reserved for admins; a refusal is a 403 naming the
    /// limit (`KernelLimitHit`), audited as a denied start.
    func launch(name: String?, environment: [String: JSONValue], context: RequestContext,
                sessionResource: Bool) async throws(RESTError) -> KernelRecord {
        let owner = context.identity.username
        let defaultName = await manager.catalog.defaultName
        let specName = name ?? defaultName ?? ""
        // Counted with the starts still in flight: otherwise concurrent requests all see the same count and all
        // pass the per-user limit. The manager ends the start when the kernel enters its table (or fails).
        let mayUseReserve = policy.current.permissions(for: context.identity).mayUseKernelReserve
        let start = manager.beginStart(owner: owner, mayUseReserve: mayUseReserve)
        defer { manager.endStart(start) }
        let resource: Resource = sessionResource
            ? .newSession(kernelspec: specName, ownedKernelCount: start.ownedKernelCount)
            : .newKernel(kernelspec: specName, ownedKernelCount: start.ownedKernelCount)
        try authorize(context, .write, resource, describing: "kernelspec \(specName)")
        let requested: ResourceLimits
        do throws(LimitError) { requested = try ResourceLimits(requestEnvironment: environment) } catch {
            throw RESTError(.badRequest, error.message)
        }
        let permissions = policy.current.permissions(for: context.identity)
        let limits = LimitResolution(roleKernelCeiling: permissions.kernelLimits, roleUserCeiling: permissions.userLimits,
                                     request: requested)
        let record: KernelRecord
        let startedAt = Monotonic.now
        let (policy, audit, hubLimits, logger) = (self.policy, self.audit, self.hubLimits, self.logger)
        do {
            record = try await manager.startKernel(start, name: name, clientEnvironment: environment,
                                                   forcedEnvironment: ["KERNEL_USERNAME": owner],
                                                   unixUser: policy.unixUser(of: owner), limits: limits) { kernel in
                let access = KernelAccessBox(owner: owner)
                let hub = ChannelHub(kernel: kernel, access: access, policy: policy, audit: audit, limits: hubLimits,
                                     logger: logger)
                await kernel.setSink(hub)
                return KernelAttachment(access: access, hub: hub)
            }
        } catch let error as KernelManagerError where error.code == .limitReached || error.code == .reservedForAdmins {
            // The gateway-wide limit, or only the admins' reserve left: a denial naming the limit, not a failed start.
            let hit = error.code == .limitReached
                ? KernelLimitHit(.gateway, maxKernels: configuration.maxKernels)
                : KernelLimitHit(.adminReserve, maxKernels: configuration.maxKernels,
                                 reservedKernels: configuration.reservedKernels)
            audit.record(AuditEvent(timeMilliseconds: AuditLog.nowMilliseconds(), user: context.identity.username,
                                    action: "start", resource: "kernels", outcome: .denied, reason: error.message,
                                    remoteAddress: context.peer.remoteAddress))
            metrics.recordDenial(reason: hit.kind == .gateway ? "gateway_kernel_limit" : "admin_kernel_reserve")
            var denial = RESTError(.forbidden, "\(owner) may not write kernelspec \(specName): \(error.message)")
            denial.kernelLimit = hit
            throw denial
        } catch let error as KernelManagerError where error.code == .forbidden {
            // Isolation refused the owner's account: a denial (audited and counted as one), not a failed start.
            audit.record(AuditEvent(timeMilliseconds: AuditLog.nowMilliseconds(), user: context.identity.username,
                                    action: "start", resource: "kernels", outcome: .denied, reason: error.message,
                                    remoteAddress: context.peer.remoteAddress))
            metrics.recordDenial(reason: "kernel_isolation")
            throw RESTError(error)
        } catch let error as KernelManagerError where error.code == .aboveResourceLimit {
            audit.record(AuditEvent(timeMilliseconds: AuditLog.nowMilliseconds(), user: context.identity.username,
                                    action: "start", resource: "kernels", outcome: .denied, reason: error.message,
                                    remoteAddress: context.peer.remoteAddress))
            metrics.recordDenial(reason: "resource_limit")
            throw RESTError(error)
        } catch let error as KernelManagerError {
            metrics.recordKernelStartFailure()
            throw RESTError(error)
        } catch {
            metrics.recordKernelStartFailure()
            throw RESTError(.internalServerError, "kernel failed to start: \(error)")
        }
        let kernel = record.kernel
        metrics.recordKernelStart(kernelspec: kernel.spec.name, seconds: Double(Monotonic.now &- startedAt) / 1e9)
        auditKernel(context, "start", kernel.id, detail: kernel.spec.name)
        return record
    }

    func deleteKernel(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        try await withKernel(context, .write) { record throws(RESTError) in
            do {
                try await manager.shutdownKernel(id: record.id)
            } catch {
                throw RESTError(.notFound, "kernel \(record.id) not found")
            }
            auditKernel(context, "shutdown", record.id)
            return .response(HTTPResponse(status: .noContent))
        }
    }

    func interruptKernel(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        // Interrupting is kernel-changing traffic, like a control interrupt_request: it needs execute.
        try await withKernel(context, .execute) { record throws(RESTError) in
            do {
                try await record.kernel.interrupt()
            } catch {
                throw RESTError(.conflict, "cannot interrupt kernel \(record.id): \(error)")
            }
            auditKernel(context, "interrupt", record.id)
            return .response(HTTPResponse(status: .noContent))
        }
    }

    func restartKernel(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        try await withKernel(context, .write) { record throws(RESTError) in
            do {
                try await record.kernel.restart()
            } catch {
                throw RESTError(.internalServerError, "kernel \(record.id) did not restart: \(error)")
            }
            metrics.recordKernelRestart(kernelspec: record.kernel.spec.name)
            auditKernel(context, "restart", record.id)
            return json(await model(record))
        }
    }

    // MARK: - Sharing

    func accessModel(_ access: KernelAccess) -> JSONValue {
        let grants = access.grants.keys.sorted().map { user -> JSONValue in
            .object(["user": .string(user), "permission": .string(access.grants[user] == .execute ? "execute" : "read")])
        }
        return .object(["owner": .string(access.owner), "grants": .array(grants)])
    }

    /// Grants are visible to whoever may change them (owners and admins); others who may read the kernel get
    /// 403, and those who may not even read it the same 404 as for an unknown id.
    func getAccess(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        try await withKernel(context, .read) { record throws(RESTError) in
            let access = record.access.snapshot
            try authorize(context, .read, .kernelAccessControl(access), describing: "access of kernel \(record.id)")
            return json(accessModel(access))
        }
    }

    func putAccess(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        try await withKernel(context, .read) { record throws(RESTError) in
            try authorize(context, .write, .kernelAccessControl(record.access.snapshot),
                          describing: "access of kernel \(record.id)")
            let body = try bodyObject(context.request)
            guard case .string(let user)? = body["user"] else {
                throw RESTError(.badRequest, "'user' must be a non-empty string")
            }
            guard case .string(let permission)? = body["permission"] else {
                throw RESTError(.badRequest, "'permission' must be one of read, execute, none")
            }
            let change: GrantChange
            do throws(GrantChangeError) {
                change = try GrantChange(user: user, permission: permission, knownUsers: policy.users)
            } catch {
                throw RESTError(.badRequest, error.message)
            }
            _ = record.access.update { $0.setGrant(change.grant, for: change.username) }
            auditKernel(context, "share", record.id, detail: "\(user)=\(permission)")
            let hub = record.hub
            // Revocations apply to the next message of open connections through the generation; readers who
            // lost read access are disconnected now.
            hub.loop.execute { hub.enforceReadAccess() }
            return json(accessModel(record.access.snapshot))
        }
    }

    /// Looks up the `{id}` kernel and checks `action` on it with the one policy function, then runs `body`. A
    /// kernel the caller may not even read answers exactly like an unknown id (404).
    func withKernel(_ context: RequestContext, _ action: Action,
                    _ body: (KernelRecord) async throws(RESTError) -> HTTPServerResponse)
        async throws(RESTError) -> HTTPServerResponse
    {
        let record = try kernelRecord(context)
        try authorize(context, action, .kernel(record.access.snapshot), describing: "kernel \(record.id)")
        return try await body(record)
    }

    func auditKernel(_ context: RequestContext, _ action: String, _ kernelID: String, detail: String? = nil) {
        audit.record(AuditEvent(timeMilliseconds: AuditLog.nowMilliseconds(), user: context.identity.username,
                                action: action, resource: "kernels/\(kernelID)", outcome: .allowed, reason: detail,
                                remoteAddress: context.peer.remoteAddress))
    }
}
