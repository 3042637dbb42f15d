import Testing
@testable import Authorization

/// Roles × kernel relationships × actions, with the expected outcome written out by hand.
@Suite struct DecisionMatrixTests {
    enum Kind: String, CaseIterable, Sendable { case own, other, sharedRead, sharedExecute }
    enum Op: String, CaseIterable, Sendable { case read, write, execute, accessControl }
    /// Expected: "ok", "403", or "404".
    typealias Row = [Op: String]

    static let expected: [String: [Kind: Row]] = [
        "admin": [
            .own: [.read: "ok", .write: "ok", .execute: "ok", .accessControl: "ok"],
            .other: [.read: "ok", .write: "ok", .execute: "ok", .accessControl: "ok"],
            .sharedRead: [.read: "ok", .write: "ok", .execute: "ok", .accessControl: "ok"],
            .sharedExecute: [.read: "ok", .write: "ok", .execute: "ok", .accessControl: "ok"],
        ],
        "user": [
            .own: [.read: "ok", .write: "ok", .execute: "ok", .accessControl: "ok"],
            .other: [.read: "404", .write: "404", .execute: "404", .accessControl: "404"],
            .sharedRead: [.read: "ok", .write: "403", .execute: "403", .accessControl: "403"],
            .sharedExecute: [.read: "ok", .write: "403", .execute: "ok", .accessControl: "403"],
        ],
        "viewer": [
            // A viewer can own a kernel only if demoted after starting it: ownership is capped by the role.
            .own: [.read: "ok", .write: "403", .execute: "403", .accessControl: "403"],
            .other: [.read: "404", .write: "404", .execute: "404", .accessControl: "404"],
            .sharedRead: [.read: "ok", .write: "403", .execute: "403", .accessControl: "403"],
            .sharedExecute: [.read: "ok", .write: "403", .execute: "403", .accessControl: "403"],
        ],
    ]

    static func kernel(_ kind: Kind, caller: String) -> KernelAccess {
        switch kind {
        case .own: return KernelAccess(owner: caller)
        case .other: return KernelAccess(owner: "zoe")
        case .sharedRead:
            var k = KernelAccess(owner: "zoe")
            k.setGrant(.read, for: caller)
            return k
        case .sharedExecute:
            var k = KernelAccess(owner: "zoe")
            k.setGrant(.execute, for: caller)
            return k
        }
    }

    static func outcome(_ d: Decision) -> String {
        switch d {
        case .allowed: "ok"
        case .denied(let denial): String(denial.httpStatus)
        }
    }

    @Test(arguments: ["admin", "user", "viewer"], Kind.allCases)
    func kernelMatrix(role: String, kind: Kind) throws {
        let policy = Policy.default
        let me = Identity(username: "amy", roles: [role])
        let k = Self.kernel(kind, caller: "amy")
        let row = try #require(Self.expected[role]?[kind])
        for op in Op.allCases {
            let d: Decision =
                switch op {
                case .read: policy.decide(me, .read, .kernel(k))
                case .write: policy.decide(me, .write, .kernel(k))
                case .execute: policy.decide(me, .execute, .kernel(k))
                case .accessControl: policy.decide(me, .write, .kernelAccessControl(k))
                }
            #expect(Self.outcome(d) == row[op], "\(role) \(kind) \(op): \(d)")
            if case .denied(let denial) = d { #expect(!denial.reason.isEmpty) }
        }
    }

    @Test(arguments: ["admin", "user", "viewer"], Kind.allCases)
    func sessionsFollowTheirKernel(role: String, kind: Kind) throws {
        let policy = Policy.default
        let me = Identity(username: "amy", roles: [role])
        let k = Self.kernel(kind, caller: "amy")
        let row = try #require(Self.expected[role]?[kind])
        #expect(Self.outcome(policy.decide(me, .read, .session(kernel: k))) == row[.read])
        #expect(Self.outcome(policy.decide(me, .write, .session(kernel: k))) == row[.write])
    }

    /// Channel-level effective level per role and kernel kind (what a WebSocket connection caches).
    @Test func effectiveLevels() {
        let expected: [String: [Kind: AccessLevel]] = [
            "admin": [.own: .owner, .other: .owner, .sharedRead: .owner, .sharedExecute: .owner],
            "user": [.own: .owner, .other: .none, .sharedRead: .read, .sharedExecute: .execute],
            "viewer": [.own: .read, .other: .none, .sharedRead: .read, .sharedExecute: .read],
        ]
        for (role, row) in expected {
            let perms = Policy.default.permissions(for: Identity(username: "amy", roles: [role]))
            for (kind, level) in row {
                #expect(perms.effectiveLevel(on: Self.kernel(kind, caller: "amy")) == level, "\(role) \(kind)")
            }
        }
    }

    @Test func typeLevelResources() {
        let p = Policy.default
        let admin = Identity(username: "a", roles: ["admin"])
        let user = Identity(username: "u", roles: ["user"])
        let viewer = Identity(username: "v", roles: ["viewer"])
        let nobody = Identity(username: "n", roles: [])
        // (identity, action, resource, allowed)
        let cases: [(Identity, Action, Resource, Bool)] = [
            (admin, .read, .kernelspecs, true), (user, .read, .kernelspecs, true),
            (viewer, .read, .kernelspec("python3"), true), (nobody, .read, .kernelspecs, false),
            (user, .write, .kernelspecs, false), (admin, .write, .kernelspecs, true),
            (admin, .read, .api, true), (user, .read, .api, true), (viewer, .read, .api, true),
            (nobody, .read, .api, false), (user, .write, .api, false),
            (admin, .read, .metrics, true), (user, .read, .metrics, false), (viewer, .read, .metrics, false),
            (admin, .read, .kernels, true), (user, .read, .kernels, true), (viewer, .read, .kernels, true),
            (nobody, .read, .kernels, false),
            (user, .read, .sessions, true), (viewer, .read, .sessions, true), (viewer, .write, .sessions, false),
        ]
        for (who, action, resource, allowed) in cases {
            let d = p.decide(who, action, resource)
            #expect(d.isAllowed == allowed, "\(who) \(action) \(resource.type): \(d)")
            if let denial = d.denial {
                #expect(!denial.hidden)
                #expect(denial.code == .actionNotPermitted)
                #expect(denial.reason.contains(action.rawValue) && denial.reason.contains(resource.type.rawValue))
            }
        }
    }

    @Test func listKernelsFiltersToReadable() {
        var shared = KernelAccess(owner: "zoe")
        shared.setGrant(.read, for: "amy")
        let kernels = [
            ("k1", KernelAccess(owner: "amy")), ("k2", KernelAccess(owner: "zoe")), ("k3", shared),
        ]
        let p = Policy.default
        let ids = { (who: Identity) in p.filterReadable(kernels, for: who) { $0.1 }.map(\.0) }
        #expect(ids(Identity(username: "amy", roles: ["user"])) == ["k1", "k3"])
        #expect(ids(Identity(username: "amy", roles: ["viewer"])) == ["k1", "k3"])
        #expect(ids(Identity(username: "root", roles: ["admin"])) == ["k1", "k2", "k3"])
        #expect(ids(Identity(username: "bob", roles: ["user"])) == [])
        #expect(ids(Identity(username: "amy", roles: ["nonexistent"])) == [])
    }

    @Test func startingKernels() {
        var policy = Policy.default
        policy.roles["user"]?.kernelspecs = ["python3", "r-*"]
        policy.roles["user"]?.maxKernels = 2
        let user = Identity(username: "u", roles: ["user"])
        #expect(policy.decide(user, .write, .newKernel(kernelspec: "python3", ownedKernelCount: 0)).isAllowed)
        #expect(policy.decide(user, .write, .newKernel(kernelspec: "r-4.3", ownedKernelCount: 1)).isAllowed)
        let wrongSpec = policy.decide(user, .write, .newKernel(kernelspec: "julia", ownedKernelCount: 0))
        #expect(wrongSpec.denial?.code == .kernelspecNotAllowed)
        #expect(wrongSpec.denial?.httpStatus == 403)
        let limit = policy.decide(user, .write, .newKernel(kernelspec: "python3", ownedKernelCount: 2))
        #expect(limit.denial?.code == .kernelLimitReached)
        #expect(limit.denial?.reason.contains("2") == true)
        // Sessions that start a kernel obey the same rules.
        #expect(policy.decide(user, .write, .newSession(kernelspec: "julia", ownedKernelCount: 0)).denial?.code
            == .kernelspecNotAllowed)
        #expect(policy.decide(user, .write, .newSession(kernelspec: "python3", ownedKernelCount: 0)).isAllowed)
        // Viewers never start kernels; admins are unlimited.
        let viewer = Identity(username: "v", roles: ["viewer"])
        #expect(policy.decide(viewer, .write, .newKernel(kernelspec: "python3", ownedKernelCount: 0)).denial?.code
            == .actionNotPermitted)
        let admin = Identity(username: "a", roles: ["admin"])
        #expect(policy.decide(admin, .write, .newKernel(kernelspec: "julia", ownedKernelCount: 1000)).isAllowed)
    }

    /// The built-in user role has a per-user limit (issue 10: one user must not take every kernel); admins have
    /// none; the denial carries the limit so the gateway can name it.
    @Test func builtInUserRoleIsLimitedPerUser() throws {
        let policy = Policy.default
        let user = Identity(username: "bob", roles: ["user"])
        #expect(Role.defaultUserMaxKernels == 4)
        #expect(policy.permissions(for: user).maxKernels == 4)
        #expect(policy.decide(user, .write, .newKernel(kernelspec: "echo", ownedKernelCount: 3)).isAllowed)
        for resource in [Resource.newKernel(kernelspec: "echo", ownedKernelCount: 4),
                         .newSession(kernelspec: "echo", ownedKernelCount: 5)] {
            let denial = try #require(policy.decide(user, .write, resource).denial)
            #expect(denial.code == .kernelLimitReached && denial.kernelLimit == 4 && denial.httpStatus == 403)
            #expect(denial.reason.hasPrefix("per-user kernel limit reached: you own"))
            #expect(denial.reason.hasSuffix("of at most 4"))
        }
        let admin = Identity(username: "root", roles: ["admin"])
        #expect(policy.decide(admin, .write, .newKernel(kernelspec: "echo", ownedKernelCount: 10_000)).isAllowed)
        // Other denials carry no limit.
        let viewer = Identity(username: "vic", roles: ["viewer"])
        let viewerDenial = policy.decide(viewer, .write, .newKernel(kernelspec: "echo", ownedKernelCount: 0)).denial
        #expect(viewerDenial != nil && viewerDenial?.kernelLimit == nil)
        // The policy file changes or lifts it.
        let lifted = try Policy(fileContents: Array(#"{"version": 1, "roles": {"user": {"max_kernels": null}}}"#.utf8))
        #expect(lifted.permissions(for: user).maxKernels == nil)
        let ten = try Policy(fileContents: Array(#"{"version": 1, "roles": {"user": {"max_kernels": 10}}}"#.utf8))
        #expect(ten.decide(user, .write, .newKernel(kernelspec: "echo", ownedKernelCount: 9)).isAllowed)
        let atTen = ten.decide(user, .write, .newKernel(kernelspec: "echo", ownedKernelCount: 10))
        #expect(atTen.denial?.kernelLimit == 10)
    }

    /// The admins' share of the gateway-wide limit is for callers with owner on every kernel.
    @Test func kernelReserveIsForAdmins() throws {
        let policy = try Policy(fileContents: Array(#"""
            {"version": 1, "roles": {"ops": {"inherits": "admin"},
                                     "auditor": {"inherits": "viewer", "all_kernels": "read"},
                                     "superuser": {"inherits": "user", "all_kernels": "owner"}}}
            """#.utf8))
        func may(_ roles: [String]) -> Bool {
            policy.permissions(for: Identity(username: "x", roles: roles)).mayUseKernelReserve
        }
        #expect(may(["admin"]) && may(["ops"]) && may(["superuser"]) && may(["user", "admin"]))
        #expect(!may(["user"]) && !may(["viewer"]) && !may(["auditor"]) && !may([]) && !may(["nonexistent"]))
    }

    @Test func multipleRolesTakeTheUnion() {
        var policy = Policy.default
        policy.roles["user"]?.kernelspecs = ["python3"]
        policy.roles["user"]?.maxKernels = 1
        policy.roles["gpu"] = Role(
            name: "gpu", permissions: [.kernels: .all], kernelspecs: ["gpu-*"], maxKernels: 3)
        let both = Identity(username: "u", roles: ["user", "gpu"])
        let perms = policy.permissions(for: both)
        #expect(perms.maxKernels == 3)
        #expect(perms.allowsKernelspec("python3") && perms.allowsKernelspec("gpu-a100"))
        #expect(!perms.allowsKernelspec("julia"))
        #expect(policy.decide(both, .write, .newKernel(kernelspec: "gpu-a100", ownedKernelCount: 2)).isAllowed)
        policy.roles["gpu"]?.maxKernels = nil
        #expect(policy.permissions(for: both).maxKernels == nil)
    }

    @Test func unknownRolesGrantNothingAndAreNamed() {
        let d = Policy.default.decide(Identity(username: "x", roles: ["admn"]), .read, .api)
        #expect(d.denial?.reason.contains("admn") == true)
    }

    @Test func kernelspecPatterns() {
        #expect(KernelspecPattern("*").matches("anything"))
        #expect(KernelspecPattern("python3").matches("python3"))
        #expect(!KernelspecPattern("python3").matches("python"))
        #expect(KernelspecPattern("py*").matches("python3"))
        #expect(KernelspecPattern("*-gpu").matches("torch-gpu"))
        #expect(!KernelspecPattern("*-gpu").matches("torch-cpu"))
        #expect(KernelspecPattern("a*b*c").matches("aXXbYYc"))
        #expect(!KernelspecPattern("a*b*c").matches("aXXbYY"))
        #expect(KernelspecPattern("r-?").matches("r-4"))
        #expect(!KernelspecPattern("r-?").matches("r-43"))
    }

    @Test func grantsAndGenerations() {
        var k = KernelAccess(owner: "amy")
        let g0 = k.generation
        let first = k.setGrant(.read, for: "bob")
        #expect(first)
        #expect(k.generation == g0 + 1)
        let repeated = k.setGrant(.read, for: "bob")
        #expect(!repeated, "no change, no bump")
        #expect(k.generation == g0 + 1)
        let toOwner = k.setGrant(.execute, for: "amy")
        #expect(!toOwner, "owner grants are ignored")
        let named = k.setGrant(named: "execute", for: "bob")
        #expect(named == true)
        #expect(k.grant(for: "bob") == .execute)
        let removed = k.setGrant(named: "none", for: "bob")
        #expect(removed == true)
        #expect(k.grant(for: "bob") == nil)
        let bogus = k.setGrant(named: "admin", for: "bob")
        #expect(bogus == nil)
        let g1 = k.generation
        k.transferOwnership(to: "bob")
        #expect(k.owner == "bob" && k.generation == g1 + 1)
    }
}
