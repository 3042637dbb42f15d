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
    private func visibleSession(_ context: RequestContext) async -> Result<(SessionStore.Session, KernelRecord), HTTPResponseError> {
        let id = context.parameters["id"] ?? ""
        guard let session = await sessions.session(id), let record = registry.record(session.kernelID) else {
            return .failure(HTTPResponseError(status: .notFound, message: "session \(id) not found"))
        }
        let current = policy.current
        guard current.canRead(current.permissions(for: context.identity), kernel: record.access.snapshot) else {
            // A denial like any other (audited), answered exactly like an unknown id.
            let action = context.request.method == .get ? "read" : "write"
            audit.record(AuditEvent(timeMilliseconds: AuditLog.nowMilliseconds(), user: context.identity.username,
                                    action: action, resource: "session \(id)", outcome: .denied,
                                    reason: "session not found"))
            metrics.recordDenial(reason: Decision.Denial.Code.notVisible.description)
            return .failure(HTTPResponseError(status: .notFound, message: "session \(id) not found"))
        }
        return .success((session, record))
    }

    func listSessions(_ context: RequestContext) async -> HTTPServerResponse {
        if let denied = authorize(context, .read, .sessions, describing: "sessions") { return denied }
        let current = policy.current
        let permissions = current.permissions(for: context.identity)
        var models: [JSONValue] = []
        for session in await sessions.all {
            guard let record = registry.record(session.kernelID) else {
                await sessions.remove(session.id)
                continue
            }
            guard current.canRead(permissions, kernel: record.access.snapshot) else { continue }
            models.append(await sessionModel(session, record))
        }
        return json(.array(models))
    }

    func getSession(_ context: RequestContext) async -> HTTPServerResponse {
        switch await visibleSession(context) {
        case .success(let (session, record)):
            if let denied = authorize(context, .read, .session(kernel: record.access.snapshot), describing: "session \(session.id)") { return denied }
            return json(await sessionModel(session, record))
        case .failure(let error):
            return error.response
        }
    }

    func createSession(_ context: RequestContext) async -> HTTPServerResponse {
        let body: JSONObject
        switch bodyObject(context.request) {
        case .success(let object): body = object
        case .failure(let error): return error.response
        }
        guard case .string(let path)? = body["path"] ?? body["notebook"].flatMap({ $0.objectValue?["path"] }) else {
            return fail(.badRequest, "'path' is required")
        }
        let name = body["name"]?.stringValue ?? ""
        let type = body["type"]?.stringValue ?? "notebook"
        if let existing = await sessions.session(path: path), let record = registry.record(existing.kernelID) {
            let current = policy.current
            if current.canRead(current.permissions(for: context.identity), kernel: record.access.snapshot) {
                return json(await sessionModel(existing, record), status: .created)
            }
        }
        let kernelSpec = body["kernel"]?.objectValue ?? [:]
        let record: KernelRecord
        if case .string(let kernelID)? = kernelSpec["id"] {
            guard let existing = registry.record(kernelID) else { return fail(.notFound, "kernel \(kernelID) not found") }
            if let denied = authorize(context, .write, .session(kernel: existing.access.snapshot), describing: "kernel \(kernelID)") { return denied }
            record = existing
        } else {
            let name = kernelSpec["name"]?.stringValue
            var environment: [String: JSONValue] = [:]
            if case .object(let values)? = body["env"] ?? kernelSpec["env"] { environment = values.dictionary }
            switch await launch(name: name, environment: environment, context: context, sessionResource: true) {
            case .success(let started): record = started
            case .failure(let error): return error.response
            }
        }
        let session = await sessions.create(path: path, name: name, type: type, kernelID: record.id)
        var headers = HTTPHeaders()
        headers.set(name: "Location", value: configuration.baseURL + "api/sessions/" + session.id)
        return json(await sessionModel(session, record), status: .created, headers: headers)
    }

    func patchSession(_ context: RequestContext) async -> HTTPServerResponse {
        var (session, record): (SessionStore.Session, KernelRecord)
        switch await visibleSession(context) {
        case .success(let found): (session, record) = found
        case .failure(let error): return error.response
        }
        if let denied = authorize(context, .write, .session(kernel: record.access.snapshot), describing: "session \(session.id)") { return denied }
        let body: JSONObject
        switch bodyObject(context.request) {
        case .success(let object): body = object
        case .failure(let error): return error.response
        }
        if let path = body["path"]?.stringValue { session.path = path }
        if let name = body["name"]?.stringValue { session.name = name }
        if let type = body["type"]?.stringValue { session.type = type }
        let previous = record
        if let kernel = body["kernel"]?.objectValue {
            if let id = kernel["id"]?.stringValue {
                guard let target = registry.record(id) else { return fail(.notFound, "kernel \(id) not found") }
                if let denied = authorize(context, .write, .session(kernel: target.access.snapshot), describing: "kernel \(id)") { return denied }
                record = target
            } else if let name = kernel["name"]?.stringValue {
                switch await launch(name: name, environment: [:], context: context, sessionResource: true) {
                case .success(let started): record = started
                case .failure(let error): return error.response
                }
            }
            session.kernelID = record.id
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

    func deleteSession(_ context: RequestContext) async -> HTTPServerResponse {
        let (session, record): (SessionStore.Session, KernelRecord)
        switch await visibleSession(context) {
        case .success(let found): (session, record) = found
        case .failure(let error): return error.response
        }
        if let denied = authorize(context, .write, .kernel(record.access.snapshot), describing: "kernel \(record.id)") { return denied }
        await sessions.remove(session.id)
        try? await manager.shutdownKernel(id: record.id)
        auditKernel(context, "shutdown", record.id, detail: "session \(session.id) deleted")
        return .response(HTTPResponse(status: .noContent))
    }
}
