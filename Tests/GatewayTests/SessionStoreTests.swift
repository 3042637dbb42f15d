import Testing
@testable import Gateway

/// Sessions are per owner (issue 10, finding 4): path lookups and listings return only the caller's own sessions,
/// so a session someone else made for the caller's path is never handed to the caller.
@Suite struct SessionStoreTests {
    @Test func lookupsByPathAndListingsArePerOwner() async {
        let store = SessionStore()
        let squat = await store.create(path: "alice/thesis.ipynb", name: "", type: "notebook", kernelID: "kb",
                                       owner: "bob")
        #expect(await store.session(path: "alice/thesis.ipynb", ownedBy: "alice") == nil)
        #expect(await store.sessions(ownedBy: "alice").isEmpty)
        let hers = await store.create(path: "alice/thesis.ipynb", name: "", type: "notebook", kernelID: "ka",
                                      owner: "alice")
        let second = await store.create(path: "alice/thesis.ipynb", name: "copy", type: "notebook", kernelID: "ka2",
                                        owner: "alice")
        #expect(await store.session(path: "alice/thesis.ipynb", ownedBy: "alice")?.id == hers.id, "oldest first")
        #expect(await store.session(path: "alice/thesis.ipynb", ownedBy: "bob")?.id == squat.id)
        #expect(await store.session(path: "alice/thesis.ipynb", ownedBy: "root") == nil)
        #expect(await store.sessions(ownedBy: "alice").map(\.id) == [hers.id, second.id])
        #expect(await store.sessions(ownedBy: "bob").map(\.id) == [squat.id])
        #expect(await store.all.count == 3)
    }

    @Test func movingASessionToAnotherOwnersKernelMovesIt() async {
        let store = SessionStore()
        var session = await store.create(path: "p.ipynb", name: "", type: "notebook", kernelID: "ka", owner: "alice")
        session.kernelID = "kb"
        session.owner = "bob"
        await store.update(session)
        #expect(await store.session(path: "p.ipynb", ownedBy: "alice") == nil)
        #expect(await store.sessions(ownedBy: "bob").map(\.kernelID) == ["kb"])
        await store.removeSessions(ofKernel: "kb")
        #expect(await store.sessions(ownedBy: "bob").isEmpty)
    }
}
