import JSONValue
import Testing
@testable import ResourceLimits

@Suite struct MemorySizeTests {
    static let sizes: [(String, UInt64)] = [
        ("2G", 2_147_483_648), ("2g", 2_147_483_648), ("2GiB", 2_147_483_648), ("2GB", 2_147_483_648),
        ("2Gi", 2_147_483_648), ("512M", 536_870_912), ("1.5G", 1_610_612_736), (" 64 MiB ", 67_108_864),
        ("1048576", 1_048_576), ("2097152B", 2_097_152), ("1T", 1_099_511_627_776), ("4096K", 4_194_304),
    ]

    @Test(arguments: sizes)
    func parses(text: String, bytes: UInt64) throws {
        #expect(try MemorySize.parse(text) == bytes)
    }

    @Test(arguments: ["", "G", "two G", "-1G", "1X", "1.5", "1e9", "100", "0.5K", "1 000M", "99999999999T", "0x10M"])
    func refuses(text: String) {
        #expect(throws: LimitError.self) { try MemorySize.parse(text) }
    }

    @Test func formats() {
        #expect(MemorySize.format(2 << 30) == "2 GiB")
        #expect(MemorySize.format(3 << 29) == "1.5 GiB")
        #expect(MemorySize.format(200 << 20) == "200 MiB")
        #expect(MemorySize.format(1000) == "1000 B")
        #expect(MemorySize.format((1 << 30) + (1 << 30) / 4) == "1.25 GiB")
        #expect(MemorySize.format(1 << 40) == "1 TiB")
    }
}

@Suite struct CPUQuotaTests {
    static let cores: [(String, Int)] = [("1", 1000), ("1.5", 1500), ("0.25", 250), (".5", 500), ("500m", 500), ("0.01", 10),
                                         ("2.125", 2125)]

    @Test(arguments: cores)
    func parses(text: String, millicores: Int) throws {
        #expect(try CPUQuota.parse(text) == millicores)
    }

    @Test(arguments: ["", ".", "0", "0.001", "1.2345", "-1", "abc", "1,5", "5000000", "m", "1.5m"])
    func refuses(text: String) {
        #expect(throws: LimitError.self) { try CPUQuota.parse(text) }
    }

    @Test func quotaAndFormat() throws {
        #expect(CPUQuota.quotaMicroseconds(1500) == 150_000)
        #expect(CPUQuota.quotaMicroseconds(500) == 50_000)
        #expect(CPUQuota.format(1000) == "1 core")
        #expect(CPUQuota.format(1500) == "1.5 cores")
        #expect(CPUQuota.format(250) == "0.25 cores")
        #expect(try CPUQuota.millicores(cores: 0.5) == 500)
        #expect(throws: LimitError.self) { try CPUQuota.millicores(cores: .nan) }
    }
}

@Suite struct ResourceLimitsParsingTests {
    @Test func fromJSON() throws {
        let object: JSONObject = ["memory_limit": .string("1G"), "cpu_limit": .double(1.5), "pids_limit": .integer(64)]
        #expect(try ResourceLimits(json: object) == ResourceLimits(memoryBytes: 1 << 30, cpuMillicores: 1500, pids: 64))
        let bytes: JSONObject = ["memory_limit": .integer(1 << 30), "cpu_limit": .string("none"), "pids_limit": .null]
        #expect(try ResourceLimits(json: bytes) == ResourceLimits(memoryBytes: 1 << 30))
    }

    @Test func jsonErrorsNameTheKey() {
        #expect(throws: LimitError(.invalidValue, "memory_limt: unknown key; use memory_limit, cpu_limit, pids_limit")) {
            try ResourceLimits(json: ["memory_limt": .string("1G")])
        }
        #expect(throws: LimitError(.invalidValue, "pids_limit: '0' is not a process count (1...4194304)")) {
            try ResourceLimits(json: ["pids_limit": .integer(0)])
        }
        #expect(throws: LimitError(.invalidValue, "cpu_limit: must be a string or a number, not an array")) {
            try ResourceLimits(json: ["cpu_limit": .array([])])
        }
    }

    @Test func fromRequestEnvironment() throws {
        let env: [String: JSONValue] = ["KERNEL_MEMORY_LIMIT": .string("512M"), "KERNEL_CPU_LIMIT": .string("0.5"),
                                        "KERNEL_PIDS_LIMIT": .string(" 32 "), "KERNEL_OTHER": .string("x")]
        #expect(try ResourceLimits(requestEnvironment: env) == ResourceLimits(memoryBytes: 512 << 20, cpuMillicores: 500, pids: 32))
        #expect(try ResourceLimits(requestEnvironment: ["KERNEL_MEMORY_LIMIT": .string("")]).isEmpty)
        #expect(throws: LimitError.self) { try ResourceLimits(requestEnvironment: ["KERNEL_CPU_LIMIT": .string("lots")]) }
    }

    @Test func combining() {
        let a = ResourceLimits(memoryBytes: 100, cpuMillicores: 500)
        let b = ResourceLimits(memoryBytes: 200, pids: 10)
        #expect(a.capped(by: b) == ResourceLimits(memoryBytes: 100, cpuMillicores: 500, pids: 10))
        #expect(a.loosened(by: b) == ResourceLimits(memoryBytes: 200))
        #expect(ResourceLimits(pids: 5).overriding(a) == ResourceLimits(memoryBytes: 100, cpuMillicores: 500, pids: 5))
        #expect(a.description == "memory 100 B, cpu 0.5 cores")
        #expect(ResourceLimits.none.description == "none")
    }
}

@Suite struct LimitResolutionTests {
    let gig: UInt64 = 1 << 30

    @Test func noInputsNoLimits() throws {
        let r = try LimitResolution().resolve()
        #expect(r.kernel.isEmpty && r.user.isEmpty)
    }

    @Test func kernelspecReplacesTheGatewayDefaultFieldByField() throws {
        let r = try LimitResolution(gatewayKernel: ResourceLimits(memoryBytes: 2 * gig, pids: 100),
                                    kernelspec: ResourceLimits(memoryBytes: 4 * gig)).resolve()
        #expect(r.kernel == ResourceLimits(memoryBytes: 4 * gig, pids: 100))
    }

    @Test func roleCeilingCapsSpecAndGateway() throws {
        let r = try LimitResolution(gatewayKernel: ResourceLimits(memoryBytes: 2 * gig),
                                    kernelspec: ResourceLimits(cpuMillicores: 4000),
                                    roleKernelCeiling: ResourceLimits(memoryBytes: gig, cpuMillicores: 1000, pids: 50)).resolve()
        #expect(r.kernel == ResourceLimits(memoryBytes: gig, cpuMillicores: 1000, pids: 50))
    }

    @Test func requestMayAskForLessOrAddALimit() throws {
        let base = LimitResolution(gatewayKernel: ResourceLimits(memoryBytes: 2 * gig))
        var lower = base
        lower.request = ResourceLimits(memoryBytes: gig, pids: 16)
        #expect(try lower.resolve().kernel == ResourceLimits(memoryBytes: gig, pids: 16))
        var equal = base
        equal.request = ResourceLimits(memoryBytes: 2 * gig)
        #expect(try equal.resolve().kernel.memoryBytes == 2 * gig)
    }

    @Test func requestAskingForMoreIsRefused() {
        var r = LimitResolution(gatewayKernel: ResourceLimits(memoryBytes: gig), roleKernelCeiling: ResourceLimits(cpuMillicores: 500, pids: 10))
        r.request = ResourceLimits(memoryBytes: 2 * gig)
        #expect(throws: LimitError(.aboveAllowed, "KERNEL_MEMORY_LIMIT 2 GiB is above the allowed 1 GiB")) { try r.resolve() }
        r.request = ResourceLimits(cpuMillicores: 1000)
        #expect(throws: LimitError(.aboveAllowed, "KERNEL_CPU_LIMIT 1 core is above the allowed 0.5 cores")) { try r.resolve() }
        r.request = ResourceLimits(pids: 11)
        #expect(throws: LimitError(.aboveAllowed, "KERNEL_PIDS_LIMIT 11 is above the allowed 10")) { try r.resolve() }
    }

    @Test func userLimitsCapTheKernelAndTheRoleCapsTheUser() throws {
        let r = try LimitResolution(gatewayKernel: ResourceLimits(memoryBytes: 4 * gig, cpuMillicores: 2000),
                                    gatewayUser: ResourceLimits(memoryBytes: 8 * gig, cpuMillicores: 1000),
                                    roleUserCeiling: ResourceLimits(memoryBytes: 3 * gig)).resolve()
        #expect(r.user == ResourceLimits(memoryBytes: 3 * gig, cpuMillicores: 1000))
        #expect(r.kernel == ResourceLimits(memoryBytes: 3 * gig, cpuMillicores: 1000))
    }
}
