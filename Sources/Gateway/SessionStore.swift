import Foundation

/// The `/api/sessions` records: a notebook (or console, file) path bound to a kernel. Thread-safe actor.
///
/// Sessions are per owner: a session belongs to the owner of its kernel, and path lookups and listings only ever
/// return the caller's own sessions. Frontends pick a session by path from the listing (JupyterLab's
/// `findByPath`) or get it back from `POST /api/sessions` and then connect to its kernel, so another owner's
/// session for the same path would route the caller's code and output into a kernel someone else owns.
actor SessionStore {
    struct Session: Sendable {
        let id: String
        var path: String
        var name: String
        var type: String
        var kernelID: String
        /// The owner of the kernel `kernelID`: who the session belongs to. Kept in step with `kernelID`.
        var owner: String
    }

    private var sessions: [String: Session] = [:]
    private var order: [String] = []

    var all: [Session] { order.compactMap { sessions[$0] } }

    func session(_ id: String) -> Session? { sessions[id] }

    /// `owner`'s sessions, oldest first.
    func sessions(ownedBy owner: String) -> [Session] { all.filter { $0.owner == owner } }

    /// `owner`'s oldest session for `path`; sessions of other owners for the same path are never returned.
    func session(path: String, ownedBy owner: String) -> Session? {
        all.first { $0.path == path && $0.owner == owner }
    }

    /// Adds a session on `kernelID`, which `owner` owns.
    func create(path: String, name: String, type: String, kernelID: String, owner: String) -> Session {
        let session = Session(id: UUID().uuidString.lowercased(), path: path, name: name, type: type,
                              kernelID: kernelID, owner: owner)
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
