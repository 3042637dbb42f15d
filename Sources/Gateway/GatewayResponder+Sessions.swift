import Authorization
import HTTPServer
import KernelRuntime
import JSONValue

extension GatewayResponder {
    func sessionModel(_ session: SessionStore.Session, _ record: KernelRecord) async -> JSONValue {
        .object([
            "id": .string(session.id),
            "path": .string(session.path),
            "name": .string(session.name),
            "type": .string(session.type),
            "kernel": await model(record),
            "notebook": .object(["path": .string(session.path), "name": .string(session.name)]),
        ])
    }

    /// The session and its kernel, or a 404 (also when the caller may not see the kernel).
    private func visibleSession(_ context: RequestContext) async throws(RESTError) -> (SessionStore.Session, KernelRecord) {
        let id = context.parameters["id"] ?? ""
        guard let session = await sessions.session(id), let record = manager.entry(id: session.kernelID) else {
            throw RESTError(.notFound, "session \(id) not found")
        }
        let current = policy.current
        guard current.canRead(current.permissions(for: context.identity), kernel: record.access.snapshot) else {
            // A denial like any other (audited), answered exactly like an unknown id.
            let action = context.request.method == .get ? "read" : "write"
            audit.record(AuditEvent(timeMilliseconds: AuditLog.nowMilliseconds(), user: context.identity.username,
                                    action: action, resource: "session \(id)", outcome: .denied,
                                    reason: "session not found"))
            metrics.recordDenial(reason: Decision.Denial.Code.notVisible.description)
            throw RESTError(.notFound, "session \(id) not found")
        }
        return (session, record)
    }

    /// `GET /api/sessions`: the caller's own sessions only (those on kernels they own), admins included. Frontends
    /// choose a session from this list by path and connect to its kernel, so listing another owner's session for
    /// the same path would hand the caller's notebook to that owner (see `SessionStore`).
    func listSessions(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        try authorize(context, .read, .sessions, describing: "sessions")
        let current = policy.current
        let permissions = current.permissions(for: context.identity)
        let caller = context.identity.username
        var models: [JSONValue] = []
        for session in await sessions.sessions(ownedBy: caller) {
            guard let record = manager.entry(id: session.kernelID) else {
                await sessions.remove(session.id)
                continue
            }
            let access = record.access.snapshot
            guard access.owner == caller, current.canRead(permissions, kernel: access) else { continue }
            models.append(await sessionModel(session, record))
        }
        return json(.array(models))
    }

    func getSession(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        let (session, record) = try await visibleSession(context)
        try authorize(context, .read, .session(kernel: record.access.snapshot), describing: "session \(session.id)")
        return json(await sessionModel(session, record))
    }

    func createSession(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        let body = try bodyObject(context.request)
        guard case .string(let path)? = body["path"] ?? body["notebook"].flatMap({ $0.objectValue?["path"] }) else {
            throw RESTError(.badRequest, "'path' is required")
        }
        let name = body["name"]?.stringValue ?? ""
        let type = body["type"]?.stringValue ?? "notebook"
        // Only the caller's own session for the path is reused; another owner's (even one the caller may read or
        // execute in) is never handed out: the caller gets a session of their own.
        let caller = context.identity.username
        if let existing = await sessions.session(path: path, ownedBy: caller),
           let record = manager.entry(id: existing.kernelID), record.access.snapshot.owner == caller {
            return json(await sessionModel(existing, record), status: .created)
        }
        let kernelSpec = body["kernel"]?.objectValue ?? [:]
        let record: KernelRecord
        if case .string(let kernelID)? = kernelSpec["id"] {
            guard let existing = manager.entry(id: kernelID) else { throw RESTError(.notFound, "kernel \(kernelID) not found") }
            try authorize(context, .write, .session(kernel: existing.access.snapshot), describing: "kernel \(kernelID)")
            record = existing
        } else {
            let name = kernelSpec["name"]?.stringValue
            var environment: [String: JSONValue] = [:]
            if case .object(let values)? = body["env"] ?? kernelSpec["env"] { environment = values.dictionary }
            record = try await launch(name: name, environment: environment, context: context, sessionResource: true)
        }
        let session = await sessions.create(path: path, name: name, type: type, kernelID: record.id,
                                            owner: record.access.snapshot.owner)
        var headers = HTTPHeaders()
        headers.set(name: "Location", value: configuration.baseURL + "api/sessions/" + session.id)
        return json(await sessionModel(session, record), status: .created, headers: headers)
    }

    func patchSession(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        var (session, record) = try await visibleSession(context)
        try authorize(context, .write, .session(kernel: record.access.snapshot), describing: "session \(session.id)")
        let body = try bodyObject(context.request)
        if let path = body["path"]?.stringValue { session.path = path }
        if let name = body["name"]?.stringValue { session.name = name }
        if let type = body["type"]?.stringValue { session.type = type }
        let previous = record
        if let kernel = body["kernel"]?.objectValue {
            if let id = kernel["id"]?.stringValue {
                guard let target = manager.entry(id: id) else { throw RESTError(.notFound, "kernel \(id) not found") }
                try authorize(context, .write, .session(kernel: target.access.snapshot), describing: "kernel \(id)")
                record = target
            } else if let name = kernel["name"]?.stringValue {
                record = try await launch(name: name, environment: [:], context: context, sessionResource: true)
            }
            session.kernelID = record.id
            session.owner = record.access.snapshot.owner
        }
        await sessions.update(session)
        // As Jupyter Server does, the kernel the session left is shut down (when the caller may do that).
        if previous.id != record.id,
           policy.current.decide(context.identity, .write, .kernel(previous.access.snapshot)).isAllowed {
            try? await manager.shutdownKernel(id: previous.id)
            auditKernel(context, "shutdown", previous.id, detail: "session \(session.id) moved to kernel \(record.id)")
        }
        return json(await sessionModel(session, record))
    }

    func deleteSession(_ context: RequestContext) async throws(RESTError) -> HTTPServerResponse {
        let (session, record) = try await visibleSession(context)
        try authorize(context, .write, .kernel(record.access.snapshot), describing: "kernel \(record.id)")
        await sessions.remove(session.id)
        try? await manager.shutdownKernel(id: record.id)
        auditKernel(context, "shutdown", record.id, detail: "session \(session.id) deleted")
        return .response(HTTPResponse(status: .noContent))
    }
}
