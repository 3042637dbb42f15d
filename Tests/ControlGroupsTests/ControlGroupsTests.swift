import Foundation
import ResourceLimits
import Testing
@testable import ControlGroups

/// cgroup v1 and v2 against fake trees: detection, layout, the files each limit goes to, usage and OOM counters.
/// This machine runs cgroup v1, so these are the only tests of the v2 paths (the integration tests run v1).
@Suite struct CgroupHierarchyTests {
    @Test func detectsV2WithOwnCgroupAndItsControllers() throws {
        let fake = try FakeCgroupTree()
        try fake.directory("", files: ["cgroup.controllers": "cpuset cpu io memory pids\n", "cgroup.procs": ""])
        try fake.directory("system.slice/kg.service", files: ["cgroup.controllers": "cpu memory\n", "cgroup.procs": ""])
        let h = try CgroupHierarchy.detect(root: fake.root + "/", selfCgroup: "0::/system.slice/kg.service\n",
                                           fileExists: { FileManager.default.fileExists(atPath: $0) })
        let own = fake.root + "/system.slice/kg.service"
        #expect(h.version == .v2 && h.root == fake.root)
        #expect(h.own.directories == [.memory: own, .cpu: own], "pids is not enabled there")
        #expect(h.own.child("x").procsFiles == [own + "/x/cgroup.procs"])
    }

    @Test func detectsV2AtTheRoot() throws {
        let fake = try FakeCgroupTree()
        try fake.directory("", files: ["cgroup.controllers": "memory pids cpu", "cgroup.procs": ""])
        let h = try CgroupHierarchy.detect(root: fake.root, selfCgroup: "0::/\n",
                                           fileExists: { FileManager.default.fileExists(atPath: $0) })
        #expect(h.own.directories == [.memory: fake.root, .cpu: fake.root, .pids: fake.root])
    }

    @Test func detectsV1PerControllerWithOwnPaths() throws {
        let fake = try FakeCgroupTree()
        for c in ["memory", "cpu", "cpuacct", "pids"] { try fake.directory(c, files: ["cgroup.procs": ""]) }
        try fake.directory("memory/job/42", files: ["cgroup.procs": ""])
        let selfCgroup = "9:name=systemd:/\n8:pids:/\n4:memory:/job/42\n2:cpuacct:/\n1:cpu:/gone\n0::/\n"
        let h = try CgroupHierarchy.detect(root: fake.root, selfCgroup: selfCgroup,
                                           fileExists: { FileManager.default.fileExists(atPath: $0) })
        #expect(h.version == .v1)
        #expect(h.own.directories == [.memory: fake.root + "/memory/job/42", .cpu: fake.root + "/cpu",
                                      .cpuacct: fake.root + "/cpuacct", .pids: fake.root + "/pids"],
                "an own path missing below the mount (/gone) falls back to the mount")
        let kernel = h.own.child("kernel-gateway-7").child("user-alice").child("kernel-k1")
        #expect(kernel.procsFiles == [
            fake.root + "/cpu/kernel-gateway-7/user-alice/kernel-k1/cgroup.procs",
            fake.root + "/cpuacct/kernel-gateway-7/user-alice/kernel-k1/cgroup.procs",
            fake.root + "/memory/job/42/kernel-gateway-7/user-alice/kernel-k1/cgroup.procs",
            fake.root + "/pids/kernel-gateway-7/user-alice/kernel-k1/cgroup.procs",
        ])
    }

    @Test func refusesARootWithoutCgroups() throws {
        let fake = try FakeCgroupTree()
        #expect(throws: CgroupError.self) {
            try CgroupHierarchy.detect(root: fake.root + "/missing", selfCgroup: "0::/\n", fileExists: { _ in false })
        }
    }
}

@Suite struct CgroupNodeTests {
    static let v1Files = ["memory": ["memory.limit_in_bytes": "", "memory.memsw.limit_in_bytes": "",
                                     "memory.usage_in_bytes": "1048576\n", "memory.failcnt": "3\n",
                                     "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"],
                          "cpu": ["cpu.cfs_period_us": "", "cpu.cfs_quota_us": ""],
                          "cpuacct": ["cpuacct.usage": "2500000000\n"],
                          "pids": ["pids.max": "", "pids.current": "7\n"]]

    func v1Node(_ fake: FakeCgroupTree) throws -> CgroupNode {
        var directories: [CgroupController: String] = [:]
        for (controller, files) in Self.v1Files {
            try fake.directory("\(controller)/k", files: files)
            directories[try #require(CgroupController(rawValue: controller))] = fake.root + "/\(controller)/k"
        }
        return CgroupNode(version: .v1, directories: directories)
    }

    func v2Node(_ fake: FakeCgroupTree) throws -> CgroupNode {
        try fake.directory("k", files: ["memory.max": "", "memory.swap.max": "", "cpu.max": "", "pids.max": "",
                                        "memory.current": "4096\n", "pids.current": "3\n",
                                        "cpu.stat": "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n",
                                        "memory.events": "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n",
                                        "cgroup.subtree_control": ""])
        let d = fake.root + "/k"
        return CgroupNode(version: .v2, directories: [.memory: d, .cpu: d, .pids: d])
    }

    @Test func v1WritesEachLimitToItsController() throws {
        let fake = try FakeCgroupTree()
        let node = try v1Node(fake)
        try node.apply(ResourceLimits(memoryBytes: 2 << 30, cpuMillicores: 1500, pids: 32))
        #expect(try fake.read("memory/k/memory.limit_in_bytes") == "2147483648")
        #expect(try fake.read("memory/k/memory.memsw.limit_in_bytes") == "2147483648", "swap counted too")
        #expect(try fake.read("cpu/k/cpu.cfs_period_us") == "100000")
        #expect(try fake.read("cpu/k/cpu.cfs_quota_us") == "150000")
        #expect(try fake.read("pids/k/pids.max") == "32")
        try node.apply(.none)
        #expect(try fake.read("memory/k/memory.limit_in_bytes") == "-1")
        #expect(try fake.read("cpu/k/cpu.cfs_quota_us") == "-1")
        #expect(try fake.read("pids/k/pids.max") == "max")
    }

    @Test func v2WritesEachLimitToItsFile() throws {
        let fake = try FakeCgroupTree()
        let node = try v2Node(fake)
        try node.apply(ResourceLimits(memoryBytes: 64 << 20, cpuMillicores: 500, pids: 100))
        #expect(try fake.read("k/memory.max") == "67108864")
        #expect(try fake.read("k/memory.swap.max") == "0")
        #expect(try fake.read("k/cpu.max") == "50000 100000")
        #expect(try fake.read("k/pids.max") == "100")
        try node.apply(.none)
        #expect(try fake.read("k/memory.max") == "max")
        #expect(try fake.read("k/memory.swap.max") == "max")
        #expect(try fake.read("k/cpu.max") == "max 100000")
    }

    @Test func v2EnablesControllersForChildren() throws {
        let fake = try FakeCgroupTree()
        let node = try v2Node(fake)
        try node.enableControllersForChildren()
        #expect(try fake.read("k/cgroup.subtree_control") == "+memory +cpu +pids")
        try "memory cpu pids\n".write(toFile: fake.root + "/k/cgroup.subtree_control", atomically: false, encoding: .utf8)
        try node.enableControllersForChildren()  // nothing missing: no write
        #expect(try fake.read("k/cgroup.subtree_control") == "memory cpu pids\n")
    }

    @Test func aLimitWithoutItsControllerIsRefused() throws {
        let fake = try FakeCgroupTree()
        try fake.directory("memory/k", files: ["memory.limit_in_bytes": ""])
        let node = CgroupNode(version: .v1, directories: [.memory: fake.root + "/memory/k"])
        #expect(throws: CgroupError.self) { try node.apply(ResourceLimits(pids: 5)) }
        try node.apply(ResourceLimits(memoryBytes: 1 << 20))
    }

    @Test func usageAndEventsV1() throws {
        let fake = try FakeCgroupTree()
        let node = try v1Node(fake)
        #expect(node.usage() == CgroupUsage(memoryBytes: 1 << 20, cpuSeconds: 2.5, pids: 7))
        #expect(node.memoryEvents() == .init(oomKills: 2, limitHits: 3))
    }

    @Test func usageAndEventsV2() throws {
        let fake = try FakeCgroupTree()
        let node = try v2Node(fake)
        #expect(node.usage() == CgroupUsage(memoryBytes: 4096, cpuSeconds: 1.5, pids: 3))
        #expect(node.memoryEvents() == .init(oomKills: 1, limitHits: 5))
    }

    @Test func missingFilesReadAsNothing() {
        let node = CgroupNode(version: .v2, directories: [.memory: "/nonexistent/k"])
        #expect(node.usage() == CgroupUsage())
        #expect(node.memoryEvents() == .init())
        #expect(node.processIDs().isEmpty)
    }
}

@Suite struct KernelCgroupTests {
    @Test func outOfMemoryReasonNamesTheLimitThatWasHit() {
        let kernelOnly = LimitResolution.Resolved(kernel: ResourceLimits(memoryBytes: 2 << 30), user: .none)
        #expect(KernelCgroup.outOfMemoryReason(limits: kernelOnly, owner: "alice", kernelLimitHit: false)
            == "out of memory: limit 2 GiB")
        let both = LimitResolution.Resolved(kernel: ResourceLimits(memoryBytes: 2 << 30),
                                            user: ResourceLimits(memoryBytes: 3 << 30))
        #expect(KernelCgroup.outOfMemoryReason(limits: both, owner: "alice", kernelLimitHit: true)
            == "out of memory: limit 2 GiB")
        #expect(KernelCgroup.outOfMemoryReason(limits: both, owner: "alice", kernelLimitHit: false)
            == "out of memory: limit 3 GiB for all of alice's kernels")
        #expect(KernelCgroup.outOfMemoryReason(limits: .init(kernel: .none, user: .none), owner: "a", kernelLimitHit: false)
            == "out of memory (the OOM killer chose this kernel)")
    }
}
