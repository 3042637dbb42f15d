import Testing
@testable import Authorization

@Suite struct GrantChangeTests {
    static func store(_ names: String...) throws -> UserStore {
        var store = UserStore()
        for n in names { _ = try store.upsertUser(username: n, roles: ["user"]) }
        return store
    }

    @Test func grantsNameExistingUsersOnly() throws {
        let users = try Self.store("amy", "bob")
        let ok = try GrantChange(user: "amy", permission: "execute", knownUsers: users)
        #expect(ok.username == "amy" && ok.grant == .execute)
        #expect(try GrantChange(user: "bob", permission: "read", knownUsers: users).grant == .read)
        for permission in ["read", "execute"] {
            #expect(throws: GrantChangeError.self) {
                try GrantChange(user: "nobody-yet", permission: permission, knownUsers: users)
            }
            do {
                _ = try GrantChange(user: "nobody-yet", permission: permission, knownUsers: users)
            } catch {
                #expect(error.code == .unknownUser)
                #expect(error.message.contains("no user named 'nobody-yet'"))
            }
        }
        // Names are exact: no case folding that could match another account.
        #expect(throws: GrantChangeError.self) { try GrantChange(user: "Amy", permission: "read", knownUsers: users) }
    }

    @Test func removingAGrantWorksForAnyName() throws {
        // A removed user's grant can still be cleaned up.
        let users = try Self.store("amy")
        let change = try GrantChange(user: "gone", permission: "none", knownUsers: users)
        #expect(change.username == "gone" && change.grant == nil)
    }

    @Test func withoutAUsersFileAnyNameIsAccepted() throws {
        #expect(try GrantChange(user: "anyone", permission: "execute", knownUsers: nil).grant == .execute)
    }

    @Test(arguments: [("", "read", GrantChangeError.Code.emptyUser), ("amy", "owner", .invalidPermission),
                      ("amy", "write", .invalidPermission), ("amy", "", .invalidPermission),
                      ("nobody", "owner", .invalidPermission)])
    func badRequests(user: String, permission: String, code: GrantChangeError.Code) throws {
        let users = try Self.store("amy")
        do {
            _ = try GrantChange(user: user, permission: permission, knownUsers: users)
            Issue.record("accepted \(user)=\(permission)")
        } catch {
            #expect(error.code == code, "\(error)")
        }
    }

    @Test func removedUsersLoseTheirGrants() {
        var access = KernelAccess(owner: "zoe")
        access.setGrant(.execute, for: "amy")
        access.setGrant(.read, for: "bob")
        access.setGrant(.read, for: "cid")
        let before = access.generation
        #expect(access.removeGrants { $0 == "zoe" || $0 == "amy" } == ["bob", "cid"])
        #expect(access.grants == ["amy": .execute])
        #expect(access.generation == before + 1)
        #expect(access.removeGrants { _ in true } == [])
        #expect(access.generation == before + 1, "nothing removed, generation unchanged")
        #expect(access.owner == "zoe")
    }
}
