import Foundation

/// The `/api/sessions` records: a notebook (or console, file) path bound to a kernel. Thread-safe actor.
actor SessionStore {
    struct Session: Sendable {
        let id: String
        var path: String
        var name: String
        var type: String
        var kernelID: String
    }

    private var sessions: [String: Session] = [:]
    private var order: [String] = []

    var all: [Session] { order.compactMap { sessions[$0] } }

    func session(_ id: String) -> Session? { sessions[id] }

    func session(path: String) -> Session? { all.first { $0.path == path } }

    func create(path: String, name: String, type: String, kernelID: String) -> Session {
        let session = Session(id: UUID().uuidString.lowercased(), path: path, name: name, type: type, kernelID: kernelID)
        sessions[session.id] = session
        order.append(session.id)
        return session
    }

    func update(_ session: Session) {
        guard sessions[session.id] != nil else { return }
        sessions[session.id] = session
    }

    @discardableResult
    func remove(_ id: String) -> Session? {
        order.removeAll { $0 == id }
        return sessions.removeValue(forKey: id)
    }

    /// Drops sessions whose kernel is gone.
    func removeSessions(ofKernel kernelID: String) {
        for session in all where session.kernelID == kernelID { remove(session.id) }
    }
}
