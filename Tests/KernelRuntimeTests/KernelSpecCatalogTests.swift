import Foundation
import Testing
@testable import KernelRuntime

@Suite struct JupyterPathsTests {
    @Test func searchOrderMatchesJupyterCore() throws {
        let expected = try JSONDecoder().decode([String].self, from: Data(JupyterFixtures.jupyterPathKernels.utf8))
        let paths = JupyterPaths(
            environment: ["JUPYTER_PATH": "/jp/one:/jp/two", "HOME": "/home/u", "JUPYTER_PREFER_ENV_PATH": "0"],
            environmentPrefix: JupyterFixtures.jupyterPathPrefix)
        #expect(paths.kernelSpecDirectories == expected)
    }

    @Test func runtimeDirMatchesJupyterCore() {
        #expect(JupyterPaths(environment: ["HOME": "/home/u"]).runtimeDirectory == JupyterFixtures.jupyterRuntimeDir)
    }

    @Test func dataAndRuntimeOverrides() {
        let paths = JupyterPaths(environment: ["HOME": "/h", "JUPYTER_DATA_DIR": "/data", "JUPYTER_RUNTIME_DIR": "/run/j"])
        #expect(paths.userDataDirectory == "/data")
        #expect(paths.runtimeDirectory == "/run/j")
        #expect(JupyterPaths(environment: ["HOME": "/h", "JUPYTER_DATA_DIR": "/data"]).runtimeDirectory == "/data/runtime")
        #expect(JupyterPaths(environment: ["HOME": "/h", "XDG_DATA_HOME": "/xdg"]).userDataDirectory == "/xdg/jupyter")
        #expect(JupyterPaths(environment: [:]).userDataDirectory == nil)
        #expect(JupyterPaths(environment: [:]).runtimeDirectory == nil)
    }

    @Test func withoutHomeOnlyJupyterPathAndSystemDirs() {
        let paths = JupyterPaths(environment: ["JUPYTER_PATH": "/a::/b/"])
        #expect(paths.dataDirectories == ["/a", "/b", "/usr/local/share/jupyter", "/usr/share/jupyter"])
    }

    @Test func environmentPrefixOrdering() {
        let env = ["HOME": "/h"]
        let after = JupyterPaths(environment: env, environmentPrefix: "/venv")
        #expect(after.dataDirectories.prefix(2) == ["/h/.local/share/jupyter", "/venv/share/jupyter"])
        let before = JupyterPaths(environment: env.merging(["JUPYTER_PREFER_ENV_PATH": "1"]) { $1 }, environmentPrefix: "/venv")
        #expect(before.dataDirectories.prefix(2) == ["/venv/share/jupyter", "/h/.local/share/jupyter"])
        let byDefault = JupyterPaths(environment: env, environmentPrefix: "/venv", preferEnvironmentPathByDefault: true)
        #expect(byDefault.dataDirectories.first == "/venv/share/jupyter")
        let overridden = JupyterPaths(
            environment: env.merging(["JUPYTER_PREFER_ENV_PATH": "off"]) { $1 }, environmentPrefix: "/venv",
            preferEnvironmentPathByDefault: true)
        #expect(overridden.dataDirectories.first == "/h/.local/share/jupyter")
        // A prefix of /usr adds nothing new: its data dir is already a system dir, searched last.
        let usr = JupyterPaths(environment: env, environmentPrefix: "/usr")
        #expect(usr.dataDirectories == ["/h/.local/share/jupyter", "/usr/local/share/jupyter", "/usr/share/jupyter"])
    }
}

@Suite struct KernelSpecCatalogTests {
    /// A configuration whose whole search path lives in `dir` (system dirs exist but are outside our control,
    /// so tests only assert about names they created).
    private func configuration(_ dir: TemporaryDirectory, allowed: Set<String> = [], defaultName: String? = nil) -> KernelSpecCatalog.Configuration {
        KernelSpecCatalog.Configuration(
            environment: ["JUPYTER_PATH": dir.url("jp1") + ":" + dir.url("jp2"), "JUPYTER_DATA_DIR": dir.url("user")],
            extraDirectories: [dir.url("extra")], allowedNames: allowed, defaultKernelName: defaultName)
    }

    @Test func searchOrderIsExtraThenJupyterPathThenUser() throws {
        let dir = try TemporaryDirectory()
        let catalog = KernelSpecCatalog.discover(configuration(dir))
        #expect(Array(catalog.searchDirectories.prefix(4)) == [
            dir.url("extra"), dir.url("jp1/kernels"), dir.url("jp2/kernels"), dir.url("user/kernels"),
        ])
        #expect(catalog.searchDirectories.suffix(2) == ["/usr/local/share/jupyter/kernels", "/usr/share/jupyter/kernels"])
    }

    @Test func firstMatchOfANameWins() throws {
        let dir = try TemporaryDirectory()
        try dir.writeSpec(base: "user/kernels", name: "zz-shared", displayName: "user")
        try dir.writeSpec(base: "jp2/kernels", name: "zz-shared", displayName: "jp2")
        try dir.writeSpec(base: "jp1/kernels", name: "zz-shared", displayName: "jp1")
        try dir.writeSpec(base: "jp2/kernels", name: "zz-only-jp2", displayName: "jp2")
        try dir.writeSpec(base: "user/kernels", name: "zz-only-user", displayName: "user")
        var catalog = KernelSpecCatalog.discover(configuration(dir))
        #expect(catalog.specs["zz-shared"]?.displayName == "jp1")
        #expect(catalog.specs["zz-only-jp2"]?.displayName == "jp2")
        #expect(catalog.specs["zz-only-user"]?.resourceDirectory == dir.url("user/kernels/zz-only-user"))

        try dir.writeSpec(base: "extra", name: "zz-shared", displayName: "extra")
        catalog = KernelSpecCatalog.discover(configuration(dir))
        #expect(catalog.specs["zz-shared"]?.displayName == "extra")
    }

    @Test func namesAreCaseInsensitive() throws {
        let dir = try TemporaryDirectory()
        try dir.writeSpec(base: "jp1/kernels", name: "ZZ-Mixed", displayName: "first")
        try dir.writeSpec(base: "jp2/kernels", name: "zz-mixed", displayName: "second")
        let catalog = KernelSpecCatalog.discover(configuration(dir))
        #expect(catalog.specs["zz-mixed"]?.displayName == "first")
        #expect(try catalog.spec(named: "ZZ-MIXED").displayName == "first")
    }

    @Test func allowListFilters() throws {
        let dir = try TemporaryDirectory()
        try dir.writeSpec(base: "extra", name: "zz-a")
        try dir.writeSpec(base: "extra", name: "zz-b")
        try dir.write("extra/zz-broken/kernel.json", "{")
        let catalog = KernelSpecCatalog.discover(configuration(dir, allowed: ["ZZ-A"]))
        #expect(catalog.names == ["zz-a"])
        // Names off the allow-list are neither loaded nor reported.
        #expect(catalog.problems.isEmpty)
        #expect(throws: KernelRuntimeError.self) { try catalog.spec(named: "zz-b") }
        do {
            _ = try catalog.spec(named: "zz-b")
        } catch let error as KernelRuntimeError {
            #expect(error.code == .noSuchKernelSpec)
        }
    }

    @Test func brokenSpecsAreReportedWithTheirFileAndDoNotHideOthers() throws {
        let dir = try TemporaryDirectory()
        try dir.writeSpec(base: "extra", name: "zz-good")
        let badJSON = try dir.write("extra/zz-badjson/kernel.json", #"{"argv": ["k""#)
        let noArgv = try dir.write("extra/zz-noargv/kernel.json", #"{"display_name": "x"}"#)
        let badName = try dir.write("extra/zz bad name/kernel.json", #"{"argv": ["k"]}"#)
        try dir.makeDirectory("extra/zz-nospec")  // no kernel.json: silently not a kernelspec
        let catalog = KernelSpecCatalog.discover(configuration(dir, allowed: ["zz-good", "zz-badjson", "zz-noargv", "zz bad name", "zz-nospec"]))
        #expect(catalog.names == ["zz-good"])
        let byName = Dictionary(uniqueKeysWithValues: catalog.problems.map { ($0.name, $0) })
        #expect(Set(byName.keys) == ["zz-badjson", "zz-noargv", "zz bad name"])
        #expect(byName["zz-badjson"]?.specFile == badJSON)
        #expect(byName["zz-badjson"]?.error.code == .invalidJSON)
        #expect(byName["zz-badjson"]?.error.message.contains(badJSON) == true)
        #expect(byName["zz-noargv"]?.error.code == .invalidKernelSpec)
        #expect(byName["zz-noargv"]?.error.message.contains(noArgv) == true)
        #expect(byName["zz bad name"]?.error.code == .invalidKernelName)
        #expect(byName["zz bad name"]?.error.message.contains(badName) == true)

        do {
            _ = try catalog.spec(named: "zz-noargv")
            Issue.record("a broken spec must not be returned")
        } catch let error as KernelRuntimeError {
            #expect(error.code == .brokenKernelSpec)
            #expect(error.message.contains(noArgv))
        }
    }

    @Test func brokenSpecShadowsALaterSpecOfTheSameName() throws {
        let dir = try TemporaryDirectory()
        try dir.write("extra/zz-k/kernel.json", "not json")
        try dir.writeSpec(base: "jp1/kernels", name: "zz-k")
        let catalog = KernelSpecCatalog.discover(configuration(dir, allowed: ["zz-k"]))
        #expect(catalog.specs["zz-k"] == nil)
        #expect(catalog.problems.map(\.name) == ["zz-k"])
    }

    @Test func defaultName() throws {
        let dir = try TemporaryDirectory()
        try dir.writeSpec(base: "extra", name: "zz-b")
        try dir.writeSpec(base: "extra", name: "zz-a")
        let allowed: Set<String> = ["zz-a", "zz-b"]
        #expect(KernelSpecCatalog.discover(configuration(dir, allowed: allowed, defaultName: "ZZ-B")).defaultName == "zz-b")
        #expect(KernelSpecCatalog.discover(configuration(dir, allowed: allowed, defaultName: "missing")).defaultName == "zz-a")
        // python3 is the fallback default when offered (the extra dir is searched first, so it is ours).
        try dir.writeSpec(base: "extra", name: "python3")
        #expect(KernelSpecCatalog.discover(configuration(dir, allowed: allowed.union(["python3"]))).defaultName == "python3")
        #expect(KernelSpecCatalog.discover(configuration(dir, allowed: ["zz-none"])).defaultName == nil)
    }

    @Test func missingDirectoriesAreFine() throws {
        let dir = try TemporaryDirectory()
        let catalog = KernelSpecCatalog.discover(configuration(dir, allowed: ["zz-none"]))
        #expect(catalog.specs.isEmpty)
        #expect(catalog.problems.isEmpty)
    }

    @Test func symlinkedSpecDirectoryIsFollowed() throws {
        let dir = try TemporaryDirectory()
        try dir.writeSpec(base: "elsewhere", name: "real", displayName: "linked")
        try dir.makeDirectory("extra")
        try dir.symlink("extra/zz-link", to: dir.url("elsewhere/real"))
        let catalog = KernelSpecCatalog.discover(configuration(dir, allowed: ["zz-link"]))
        #expect(catalog.specs["zz-link"]?.displayName == "linked")
    }
}

@Suite struct KernelSpecResourceTests {
    private struct Fixture {
        let dir: TemporaryDirectory
        let catalog: KernelSpecCatalog
    }

    private func fixture() throws -> Fixture {
        let dir = try TemporaryDirectory()
        try dir.writeSpec(base: "extra", name: "zz-k")
        try dir.write("extra/zz-k/logo-64x64.png", "png")
        try dir.write("extra/zz-k/.hidden", "secret")
        try dir.write("extra/zz-k/sub/inner.txt", "inner")
        try dir.write("extra/secret.txt", "outside")
        try dir.write("outside.txt", "outside")
        try dir.symlink("extra/zz-k/escape.png", to: dir.url("outside.txt"))
        try dir.symlink("extra/zz-k/escape-rel.png", to: "../secret.txt")
        try dir.symlink("extra/zz-k/alias.png", to: "logo-64x64.png")
        try dir.symlink("extra/zz-k/dirlink", to: dir.url("extra"))
        try dir.symlink("extra/zz-k/dangling.png", to: dir.url("nope"))
        let catalog = KernelSpecCatalog.discover(
            KernelSpecCatalog.Configuration(environment: [:], extraDirectories: [dir.url("extra")], allowedNames: ["zz-k"]))
        return Fixture(dir: dir, catalog: catalog)
    }

    @Test func servesRegularFilesOfTheSpecDirectory() throws {
        let f = try fixture()
        let path = try f.catalog.resourcePath(kernel: "zz-k", file: "logo-64x64.png")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "png")
        #expect(try f.catalog.resourcePath(kernel: "ZZ-K", file: "kernel.json").hasSuffix("/zz-k/kernel.json"))
        // A symlink that stays inside the directory is fine.
        #expect(try f.catalog.resourcePath(kernel: "zz-k", file: "alias.png").hasSuffix("/zz-k/logo-64x64.png"))
    }

    @Test(arguments: [
        "../secret.txt", "..", ".", "", "sub/inner.txt", "/etc/passwd", "..%2fsecret.txt", ".hidden", "escape.png",
        "escape-rel.png", "dirlink", "sub", "dangling.png", "missing.png", "..\\secret.txt", "logo-64x64.png\u{0}",
    ])
    func rejectsEverythingElse(file: String) throws {
        let f = try fixture()
        do {
            let path = try f.catalog.resourcePath(kernel: "zz-k", file: file)
            Issue.record("'\(file)' resolved to \(path)")
        } catch let error as KernelRuntimeError {
            #expect(error.code == .resourceNotFound)
            #expect(!error.message.contains(f.dir.path))  // no file-system paths leak to clients
        }
    }

    @Test func unknownKernelIsNoSuchKernelSpec() throws {
        let f = try fixture()
        #expect {
            try f.catalog.resourcePath(kernel: "../zz-k", file: "kernel.json")
        } throws: { ($0 as? KernelRuntimeError)?.code == .noSuchKernelSpec }
    }
}
