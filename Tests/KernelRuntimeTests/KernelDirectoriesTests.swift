import Foundation
import Glibc
import Testing
@testable import KernelRuntime

@Suite struct KernelDirectoriesTests {
    @Test func removeTreeDeletesEverythingButNeverFollowsSymlinks() throws {
        let temp = try TemporaryDirectory()
        let outside = try temp.write("outside/precious.txt", "keep me")
        let kernel = temp.url("kernel")
        try KernelDirectories.createKernelDirectory(kernel, account: nil)
        try temp.write("kernel/connection.json", "{}")
        try temp.write("kernel/deep/er/file", "x")
        // What a hostile kernel plants: links to a file and to a directory outside its own directory.
        #expect(symlink(outside, kernel + "/link-to-file") == 0)
        #expect(symlink(temp.url("outside"), kernel + "/deep/link-to-dir") == 0)
        #expect(KernelDirectories.removeTree(kernel))
        #expect(access(kernel, F_OK) != 0)
        #expect(try String(contentsOfFile: outside, encoding: .utf8) == "keep me")
        #expect(KernelDirectories.removeTree(kernel), "a missing directory counts as removed")
    }

    @Test func removeTreeRefusesASymlinkAsTheDirectoryItself() throws {
        let temp = try TemporaryDirectory()
        try temp.write("target/file", "x")
        #expect(symlink(temp.url("target"), temp.url("kernel")) == 0)
        #expect(!KernelDirectories.removeTree(temp.url("kernel")))
        #expect(access(temp.url("target/file"), F_OK) == 0)
    }

    @Test func kernelDirectoryIsPrivateAndNeverReused() throws {
        let temp = try TemporaryDirectory()
        let path = temp.url("k1")
        try KernelDirectories.createKernelDirectory(path, account: nil)
        #expect(FileSystem.permissions(of: path) == 0o700)
        #expect(throws: KernelRuntimeError.self) { try KernelDirectories.createKernelDirectory(path, account: nil) }
    }

    @Test(.enabled(if: geteuid() == 0, "chown needs root"))
    func homeAndKernelDirectoryBelongToTheAccount() throws {
        let temp = try TemporaryDirectory()
        let nobody = UnixAccount(name: "nobody", uid: 65534, gid: 65534, groups: [65534], home: "/nonexistent")
        try KernelDirectories.prepareHome(temp.url("home"), account: nobody)
        try KernelDirectories.createKernelDirectory(temp.url("k"), account: nobody)
        for path in [temp.url("home"), temp.url("k")] {
            var info = stat()
            #expect(stat(path, &info) == 0)
            #expect(info.st_uid == 65534 && info.st_gid == 65534 && info.st_mode & 0o777 == 0o700)
        }
        // Prepared again (the next kernel of the same user): accepted as it is.
        try KernelDirectories.prepareHome(temp.url("home"), account: nobody)
        // A home owned by someone else is refused rather than taken over.
        try FileManager.default.createDirectory(atPath: temp.url("foreign"), withIntermediateDirectories: false)
        #expect(throws: KernelRuntimeError.self) { try KernelDirectories.prepareHome(temp.url("foreign"), account: nobody) }
        // So is a symlink posing as the home.
        #expect(symlink(temp.url("home"), temp.url("linked")) == 0)
        #expect(throws: KernelRuntimeError.self) { try KernelDirectories.prepareHome(temp.url("linked"), account: nobody) }
    }

    @Test func rootsArePassableAndTheirAncestorsMustBeToo() throws {
        let temp = try TemporaryDirectory()  // mkdtemp: mode 0700, so not passable by others
        let root = temp.url("roots/kernels")
        let error = #expect(throws: KernelRuntimeError.self) { try KernelDirectories.prepareRoot(root, reachableByOthers: true) }
        #expect(error?.message.contains(temp.path) == true)
        #expect(chmod(temp.path, 0o711) == 0)
        #expect(chmod(temp.url("roots"), 0o755) == 0)
        try KernelDirectories.prepareRoot(root, reachableByOthers: true)
        #expect(FileSystem.permissions(of: root) == 0o711)
        try KernelDirectories.prepareRoot(temp.url("own"), reachableByOthers: false)
    }

    @Test func privacyProblemNamesLooseModes() throws {
        let temp = try TemporaryDirectory()
        let file = try temp.write("users.json", "{}")
        #expect(chmod(file, 0o644) == 0)
        #expect(KernelDirectories.privacyProblem(file)?.contains("mode 644") == true)
        #expect(chmod(file, 0o600) == 0)
        #expect(KernelDirectories.privacyProblem(file) == nil)
        #expect(KernelDirectories.privacyProblem(temp.url("missing")) == nil)
    }
}
