/// A client session on one kernel: the authenticated user plus the `session_id` the client chose. Keying by both
/// means nobody can take over (or receive the replay of) another user's session by guessing its id.
package struct SessionKey: Hashable, Sendable {
    package let username: String
    package let sessionID: String

    package init(username: String, sessionID: String) {
        self.username = username
        self.sessionID = sessionID
    }
}
