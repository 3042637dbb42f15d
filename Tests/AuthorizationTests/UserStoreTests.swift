import Testing
@testable import Authorization

@Suite struct UserStoreTests {
    @Test func addAuthenticateRotateRemove() throws {
        var store = UserStore()
        let amyToken = try store.upsertUser(username: "amy", roles: ["user"], displayName: "Amy A.")
        let bobToken = try store.upsertUser(username: "bob", roles: ["viewer"])
        #expect(amyToken.count == 64 && amyToken.allSatisfy(\.isHexDigit))
        #expect(amyToken != bobToken)
        #expect(store.authenticate(token: amyToken) == Identity(username: "amy", roles: ["user"], displayName: "Amy A."))
        #expect(store.authenticate(token: bobToken)?.username == "bob")
        #expect(store.authenticate(token: "") == nil)
        let altered = String(amyToken.dropLast()) + (amyToken.hasSuffix("0") ? "1" : "0")
        #expect(store.authenticate(token: altered) == nil)
        #expect(store.authenticate(token: amyToken.uppercased()) == nil)

        let rotated = try store.rotateToken(for: "amy")
        #expect(store.authenticate(token: amyToken) == nil, "old token stops working")
        #expect(store.authenticate(token: rotated)?.username == "amy")
        #expect(store.user(named: "amy")?.roles == ["user"], "rotation keeps roles")

        try store.setRoles(["admin"], for: "amy")
        #expect(store.authenticate(token: rotated)?.roles == ["admin"], "role change keeps the token")

        let removed = store.removeUser("bob")
        let removedAgain = store.removeUser("bob")
        #expect(removed && !removedAgain)
        #expect(store.authenticate(token: bobToken) == nil)
        #expect(store.users.map(\.username) == ["amy"])
    }

    @Test func rawBytesAuthentication() throws {
        var store = UserStore()
        let token = try store.upsertUser(username: "amy", roles: ["user"])
        let header = Array("token \(token)".utf8)
        header.withUnsafeBytes { raw in
            #expect(store.authenticate(tokenBytes: UnsafeRawBufferPointer(rebasing: raw[6...]))?.username == "amy")
            #expect(store.authenticate(tokenBytes: UnsafeRawBufferPointer(rebasing: raw[5...])) == nil)
        }
    }

    @Test func invalidNamesRejected() {
        var store = UserStore()
        #expect(throws: UserStoreError.self) { try store.upsertUser(username: "", roles: []) }
        #expect(throws: UserStoreError.self) { try store.upsertUser(username: "a b", roles: []) }
        #expect(throws: UserStoreError.self) { try store.upsertUser(username: "amy", roles: ["bad role"]) }
        #expect(throws: UserStoreError.self) { try store.setRoles(["user"], for: "ghost") }
        #expect(store.users.isEmpty)
    }

    @Test func fileRoundTripHoldsHashesOnly() throws {
        var store = UserStore()
        let t1 = try store.upsertUser(username: "amy", roles: ["user", "gpu"], displayName: "Amy \"Q\" Ng")
        let t2 = try store.upsertUser(username: "bob", roles: [])
        let file = store.fileContents()
        let text = String(decoding: file, as: UTF8.self)
        #expect(!text.contains(t1) && !text.contains(t2), "no plaintext token in the file")
        #expect(text.contains(TokenDigest(hashing: t1).fileString))
        #expect(text.contains("\"version\": 1"))

        let reloaded = try UserStore(fileContents: file)
        #expect(reloaded.users == store.users)
        #expect(reloaded.authenticate(token: t1)?.roles == ["user", "gpu"])
        #expect(reloaded.authenticate(token: t1)?.displayName == "Amy \"Q\" Ng")
        #expect(reloaded.authenticate(token: t2)?.username == "bob")
        #expect(reloaded.fileContents() == file, "serialization is deterministic")
    }

    @Test func knownDigestFormat() throws {
        // SHA-256("abc") from FIPS 180-2.
        #expect(TokenDigest(hashing: "abc").fileString
            == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let file = #"""
            {"version": 1, "users": [{"username": "amy", "roles": ["user"],
              "token_hash": "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"}]}
            """#
        let store = try UserStore(fileContents: Array(file.utf8))
        #expect(store.authenticate(token: "abc")?.username == "amy")
    }

    static let h = "sha256:" + String(repeating: "ab", count: 32)

    /// Each bad file must be rejected with the given code and a message naming the field.
    @Test(arguments: [
        ("", "invalid_json", ""),
        ("{", "invalid_json", ""),
        ("[]", "wrong_type", ""),
        (#"{"users": []}"#, "missing_field", "version"),
        (#"{"version": 2, "users": []}"#, "unsupported_version", "version"),
        (#"{"version": "1", "users": []}"#, "invalid_value", "version"),
        (#"{"version": 1}"#, "missing_field", "users"),
        (#"{"version": 1, "users": {}}"#, "wrong_type", "users"),
        (#"{"version": 1, "users": [], "extra": 1}"#, "unknown_field", "extra"),
        (#"{"version": 1, "version": 1, "users": []}"#, "invalid_json", ""),
        (#"{"version": 1, "users": [{"roles": []}]}"#, "missing_field", "users[0].username"),
        (#"{"version": 1, "users": [{"username": "a b", "roles": []}]}"#, "invalid_value", "users[0].username"),
        (#"{"version": 1, "users": [{"username": "amy"}]}"#, "missing_field", "users[0].roles"),
        (#"{"version": 1, "users": [{"username": "amy", "roles": "user"}]}"#, "wrong_type", "users[0].roles"),
        (#"{"version": 1, "users": [{"username": "amy", "roles": [1]}]}"#, "wrong_type", "users[0].roles[0]"),
        (#"{"version": 1, "users": [{"username": "amy", "roles": [], "token": "x"}]}"#, "unknown_field",
            "users[0].token"),
        (#"{"version": 1, "users": [{"username": "amy", "roles": [], "token_hash": "plaintext-secret"}]}"#,
            "invalid_value", "users[0].token_hash"),
        (#"{"version": 1, "users": [{"username": "amy", "roles": []}, {"username": "amy", "roles": []}]}"#,
            "duplicate", "users[1].username"),
        (#"{"version": 1, "users": [{"username": "amy", "roles": [], "token_hash": "\#(h)"}, {"username": "bob", "roles": [], "token_hash": "\#(h)"}]}"#,
            "duplicate", "users[1].token_hash"),
    ])
    func badFilesRejected(file: String, code: String, field: String) {
        do {
            _ = try UserStore(fileContents: Array(file.utf8))
            Issue.record("accepted bad file: \(file)")
        } catch {
            #expect(error.code.name == code, "\(error)")
            #expect(error.field == field, "\(error)")
            #expect(error.message.hasPrefix("users file"))
            if !field.isEmpty { #expect(error.message.contains(field)) }
            #expect(!error.message.contains("plaintext-secret"), "bad token_hash values are not echoed")
        }
    }

    @Test func sharedTokenMode() throws {
        let auth = try #require(SharedTokenAuthenticator(token: "s3cret-shared"))
        #expect(auth.authenticate(token: "s3cret-shared") == Identity(username: "admin", roles: ["admin"]))
        #expect(auth.authenticate(token: "s3cret-share") == nil)
        #expect(auth.authenticate(token: "s3cret-shared ") == nil)
        #expect(auth.authenticate(token: "") == nil)
        #expect(SharedTokenAuthenticator(token: "") == nil)
        let bytes = Array("s3cret-shared".utf8)
        bytes.withUnsafeBytes { #expect(auth.authenticate(tokenBytes: $0)?.username == "admin") }
        let mode = Authenticator.sharedToken(auth)
        #expect(mode.authenticate(token: "s3cret-shared")?.roles == ["admin"])
        #expect(mode.authenticate(digest: TokenDigest(hashing: "s3cret-shared"))?.username == "admin")
        #expect(mode.authenticate(digest: TokenDigest(hashing: "s3cret-share")) == nil)
    }

    /// Hashing once and authenticating by digest answers exactly as authenticating by token (the gateway keeps
    /// the digest with each WebSocket, never the token).
    @Test func digestAuthenticationMatchesTokenAuthentication() throws {
        var store = UserStore()
        let token = try store.upsertUser(username: "amy", roles: ["user"])
        let mode = Authenticator.users(store)
        #expect(mode.authenticate(digest: TokenDigest(hashing: token)) == mode.authenticate(token: token))
        #expect(store.authenticate(digest: TokenDigest(hashing: token))?.username == "amy")
        #expect(store.authenticate(digest: TokenDigest(hashing: token + "x")) == nil)
        #expect(store.authenticate(digest: TokenDigest(hashing: "")) == nil)
    }

    /// What a reloaded users file says about a connection opened earlier: the user and the token it was opened
    /// with must both still be there.
    @Test func standingFollowsRotationRemovalAndRoleChanges() throws {
        var store = UserStore()
        let old = TokenDigest(hashing: try store.upsertUser(username: "carol", roles: ["user"]))
        let dave = TokenDigest(hashing: try store.upsertUser(username: "dave", roles: ["user"]))
        #expect(store.standing(of: "carol", tokenDigest: old) == .current(Identity(username: "carol", roles: ["user"])))
        try store.setRoles(["viewer"], for: "carol")
        let viewer = CredentialStanding.current(Identity(username: "carol", roles: ["viewer"]))
        #expect(store.standing(of: "carol", tokenDigest: old) == viewer, "a role change keeps the token")
        let new = TokenDigest(hashing: try store.rotateToken(for: "carol"))
        #expect(store.standing(of: "carol", tokenDigest: old) == .tokenRevoked)
        #expect(store.standing(of: "carol", tokenDigest: new) == viewer)
        #expect(store.standing(of: "carol", tokenDigest: dave) == .tokenRevoked, "another user's token is not carol's")
        #expect(store.standing(of: "carol", tokenDigest: nil) == viewer, "no digest: the user only")
        // `users add` on an existing user issues a new token too.
        _ = try store.upsertUser(username: "carol", roles: ["user"])
        #expect(store.standing(of: "carol", tokenDigest: new) == .tokenRevoked)
        // A user whose token was cleared in the file cannot log in, and what they opened is revoked.
        let cleared = #"{"version": 1, "users": [{"username": "carol", "roles": ["user"]}]}"#
        let reloaded = try UserStore(fileContents: Array(cleared.utf8))
        #expect(reloaded.standing(of: "carol", tokenDigest: new) == .tokenRevoked)
        store.removeUser("carol")
        #expect(store.standing(of: "carol", tokenDigest: new) == .userRemoved)
        #expect(store.standing(of: "carol", tokenDigest: nil) == .userRemoved)
        #expect(store.standing(of: "dave", tokenDigest: dave) == .current(Identity(username: "dave", roles: ["user"])))
    }

    @Test func headerExtraction() {
        #expect(Tokens.fromAuthorizationHeader("token abc") == "abc")
        #expect(Tokens.fromAuthorizationHeader("Bearer abc") == "abc")
        #expect(Tokens.fromAuthorizationHeader("  bearer   abc  ") == "abc")
        #expect(Tokens.fromAuthorizationHeader("Basic abc") == nil)
        #expect(Tokens.fromAuthorizationHeader("token ") == nil)
        #expect(Tokens.fromAuthorizationHeader("abc") == nil)
    }

    @Test func generatedTokensDiffer() {
        let tokens = Set((0..<100).map { _ in Tokens.generate() })
        #expect(tokens.count == 100)
        #expect(tokens.allSatisfy { $0.utf8.count == 64 })
    }

    @Test func unknownRolesReported() throws {
        var store = UserStore()
        _ = try store.upsertUser(username: "amy", roles: ["user", "gpu"])
        _ = try store.upsertUser(username: "bob", roles: ["gpu", "auditor"])
        #expect(Policy.default.unknownRoles(in: store) == ["auditor", "gpu"])
    }
}

@Suite struct UnixUserFieldTests {
    @Test func unixUserRoundTripsAndSurvivesTokenRotation() throws {
        var store = UserStore()
        _ = try store.upsertUser(username: "alice", roles: ["user"])
        try store.setUnixUser("jk-alice", for: "alice")
        _ = try store.rotateToken(for: "alice")
        let reread = try UserStore(fileContents: store.fileContents())
        #expect(reread.user(named: "alice")?.unixUser == "jk-alice")
        #expect(String(decoding: store.fileContents(), as: UTF8.self).contains(#""unix_user": "jk-alice""#))
        try store.setUnixUser(nil, for: "alice")
        #expect(try UserStore(fileContents: store.fileContents()).user(named: "alice")?.unixUser == nil)
    }

    @Test func invalidAccountNamesAreRejected() throws {
        var store = UserStore()
        _ = try store.upsertUser(username: "alice", roles: ["user"])
        #expect(throws: UserStoreError.self) { try store.setUnixUser("-oops", for: "alice") }
        #expect(throws: UserStoreError.self) { try store.setUnixUser("a b", for: "alice") }
        #expect(throws: UserStoreError.self) { try store.setUnixUser("x", for: "nobody-here") }
        let file = #"{"version": 1, "users": [{"username": "a", "roles": ["user"], "unix_user": "../etc"}]}"#
        #expect(throws: AuthorizationFileError.self) { try UserStore(fileContents: Array(file.utf8)) }
    }
}
