import ResourceLimits
import Foundation
import Testing
import JSONValue
@testable import KernelRuntime

private func parse(_ json: String, name: String = "k") throws -> KernelSpec {
    try KernelSpec.parse(Array(json.utf8), name: name, directory: "/specs/\(name)", specFile: "/specs/\(name)/kernel.json")
}

private func error(_ json: String, name: String = "k") -> KernelRuntimeError? {
    do {
        _ = try parse(json, name: name)
        return nil
    } catch let error as KernelRuntimeError {
        return error
    } catch {
        return nil
    }
}

@Suite struct KernelSpecTests {
    @Test func parsesIpykernelsOwnSpec() throws {
        let spec = try parse(JupyterFixtures.ipykernelSpec, name: "python3")
        #expect(spec.argv.count == 5)
        #expect(spec.argv.last == "{connection_file}")
        #expect(spec.displayName == "Python 3 (ipykernel)")
        #expect(spec.language == "python")
        #expect(spec.interruptMode == .signal)
        #expect(spec.kernelProtocolVersion == "5.5")
        #expect(spec.metadata == .object(["debugger": .bool(true), "supported_encryption": .array([.string("curve")])]))
        #expect(spec.env.isEmpty)
    }

    @Test func readsAllFields() throws {
        let spec = try parse(#"""
            {"argv": ["k", "{connection_file}"], "display_name": "K", "language": "kl",
             "env": {"A": "1", "B": "${HOME}/x"}, "interrupt_mode": "message",
             "metadata": {"n": 3, "f": 1.5, "nested": {"x": null}}, "kernel_protocol_version": "5.3"}
            """#)
        #expect(spec.env == ["A": "1", "B": "${HOME}/x"])
        #expect(spec.interruptMode == .message)
        #expect(spec.metadata.objectValue?["n"] == .integer(3))
        #expect(spec.metadata.objectValue?["f"] == .double(1.5))
        #expect(spec.metadata.objectValue?["nested"] == .object(["x": .null]))
        #expect(spec.specFile == "/specs/k/kernel.json")
        #expect(spec.resourceDirectory == "/specs/k")
    }

    @Test func minimalSpecGetsJupyterDefaults() throws {
        let spec = try parse(#"{"argv": ["k"]}"#)
        #expect(spec.displayName == "")
        #expect(spec.language == "")
        #expect(spec.interruptMode == .signal)
        #expect(spec.metadata == .object([:]))
        #expect(spec.kernelProtocolVersion == nil)
    }

    @Test(arguments: [
        (#"{"argv": ["k"]"#, KernelRuntimeError.Code.invalidJSON, "not valid JSON"),
        ("", .invalidJSON, "not valid JSON"),
        (#"["k"]"#, .invalidJSON, "top level must be a JSON object"),
        (#"{"display_name": "x"}"#, .invalidKernelSpec, "'argv' is missing"),
        (#"{"argv": []}"#, .invalidKernelSpec, "'argv' is empty"),
        (#"{"argv": "python -m k"}"#, .invalidKernelSpec, "'argv' must be an array of strings, not string"),
        (#"{"argv": ["k", 3]}"#, .invalidKernelSpec, "argv[1] must be a string, not number"),
        (#"{"argv": [""]}"#, .invalidKernelSpec, "argv[0] is an empty string"),
        (#"{"argv": ["k"], "interrupt_mode": "kill"}"#, .invalidKernelSpec, "'interrupt_mode' must be"),
        (#"{"argv": ["k"], "interrupt_mode": 1}"#, .invalidKernelSpec, "'interrupt_mode' must be a string"),
        (#"{"argv": ["k"], "env": {"A": 1}}"#, .invalidKernelSpec, "env 'A' must be a string"),
        (#"{"argv": ["k"], "env": ["A"]}"#, .invalidKernelSpec, "'env' must be an object"),
        (#"{"argv": ["k"], "env": {"A=B": "1"}}"#, .invalidKernelSpec, "env 'A=B' is not a valid"),
        (#"{"argv": ["k"], "metadata": 1}"#, .invalidKernelSpec, "'metadata' must be an object"),
        (#"{"argv": ["k"], "display_name": false}"#, .invalidKernelSpec, "'display_name' must be a string"),
    ])
    func rejectsBadSpecsNamingTheFile(json: String, code: KernelRuntimeError.Code, fragment: String) throws {
        let failure = try #require(error(json))
        #expect(failure.code == code)
        #expect(failure.message.hasPrefix("/specs/k/kernel.json: "))
        #expect(failure.message.contains(fragment), "\(failure.message)")
    }

    @Test(arguments: ["python3", "Python3", "ir", "my-kernel_1.0", "a"])
    func acceptsValidNames(name: String) {
        #expect(KernelSpec.isValidName(name))
    }

    @Test(arguments: ["", "my kernel", "a/b", "..a/b", "ké", "x;y", "a\u{0}"])
    func rejectsInvalidNames(name: String) throws {
        #expect(!KernelSpec.isValidName(name))
        let failure = try #require(error(#"{"argv": ["k"]}"#, name: name))
        #expect(failure.code == .invalidKernelName)
    }

    @Test func namesAreLowerCased() throws {
        #expect(try parse(#"{"argv": ["k"]}"#, name: "MyKernel").name == "mykernel")
    }

    @Test func specJSONIsTheNormalizedKernelJSON() throws {
        let spec = try parse(JupyterFixtures.ipykernelSpec, name: "python3")
        let json = try #require(spec.specJSON().objectValue)
        #expect(Set(json.keys) == ["argv", "display_name", "language", "env", "interrupt_mode", "metadata", "kernel_protocol_version"])
        #expect(json["interrupt_mode"] == .string("signal"))
        #expect(json["metadata"] == spec.metadata)
        // The serialized form parses back to the same value.
        #expect(try JSONValue.parse(spec.specJSON().serialized()) == spec.specJSON())
    }

    @Test func resourceKeysFollowJupyterServer() {
        let spec = KernelSpec(
            name: "k", resourceDirectory: "/d", specFile: "/d/kernel.json", argv: ["k"],
            resourceFiles: ["kernel.css", "kernel.js", "logo-32x32.png", "logo-64x64.png", "logo-svg.svg", "logo-a.b.png"])
        #expect(spec.resourceKeys() == [
            "kernel.css": "kernel.css", "kernel.js": "kernel.js", "logo-32x32": "logo-32x32.png",
            "logo-64x64": "logo-64x64.png", "logo-svg": "logo-svg.svg", "logo-a.b": "logo-a.b.png",
        ])
    }

    @Test func loadListsResourceFilesPresent() throws {
        let dir = try TemporaryDirectory()
        try dir.writeSpec(base: "specs", name: "k")
        for file in ["logo-64x64.png", "kernel.js", "notes.txt", "logo-extra.svg"] {
            try dir.write("specs/k/\(file)", "x")
        }
        try dir.makeDirectory("specs/k/logo-dir")  // a directory is not a resource
        try dir.write("outside.png", "x")
        try dir.symlink("specs/k/logo-escape.png", to: dir.url("outside.png"))  // would not be served: not listed
        let spec = try KernelSpec.load(name: "k", directory: dir.url("specs/k"))
        #expect(spec.resourceFiles == ["kernel.js", "logo-64x64.png", "logo-extra.svg"])
        #expect(spec.specFile == dir.url("specs/k/kernel.json"))
    }

    @Test func loadMatchesIpykernelResourceFiles() throws {
        // ipykernel installs these files; all but kernel.json must be picked up as resources.
        let expected = try JSONDecoder().decode([String].self, from: Data(JupyterFixtures.ipykernelResources.utf8))
        let dir = try TemporaryDirectory()
        for file in expected { try dir.write("python3/\(file)", file == "kernel.json" ? JupyterFixtures.ipykernelSpec : "x") }
        let spec = try KernelSpec.load(name: "python3", directory: dir.url("python3"))
        #expect(spec.resourceFiles == expected.filter { $0 != "kernel.json" })
    }

    @Test func loadOfMissingFileNamesIt() throws {
        let dir = try TemporaryDirectory()
        #expect {
            try KernelSpec.load(name: "k", directory: dir.url("k"))
        } throws: { error in
            guard let error = error as? KernelRuntimeError else { return false }
            return error.code == .fileUnreadable && error.message.contains(dir.url("k/kernel.json"))
        }
    }
}

@Suite struct KernelSpecJSONErrorTests {
    @Test func badJSONNamesTheFileAndTheByteOffset() {
        #expect {
            try KernelSpec.parse(Array(#"{"argv": ["k"],}"#.utf8), name: "k", directory: "/where", specFile: "/where/kernel.json")
        } throws: { error in
            (error as? KernelRuntimeError)?.message == "/where/kernel.json: not valid JSON (at byte 15: expected a key string)"
        }
    }
}

@Suite struct KernelSpecLimitsTests {
    @Test func limitsFromGatewayMetadata() throws {
        let spec = try parse(#"{"argv": ["k"], "metadata": {"debugger": true, "kernel_gateway": {"memory_limit": "1G", "cpu_limit": 0.5, "pids_limit": 64}}}"#)
        #expect(spec.limits == ResourceLimits(memoryBytes: 1 << 30, cpuMillicores: 500, pids: 64))
        #expect(try parse(#"{"argv": ["k"]}"#).limits.isEmpty)
    }

    @Test func badLimitsNameTheField() {
        #expect(throws: KernelRuntimeError.self) { try parse(#"{"argv": ["k"], "metadata": {"kernel_gateway": {"memory_limit": "huge"}}}"#) }
        #expect(throws: KernelRuntimeError.self) { try parse(#"{"argv": ["k"], "metadata": {"kernel_gateway": {"memroy_limit": "1G"}}}"#) }
        #expect(throws: KernelRuntimeError.self) { try parse(#"{"argv": ["k"], "metadata": {"kernel_gateway": "1G"}}"#) }
    }
}
