import Basics
import Foundation
import Glibc
import Testing

@Suite struct BoundedFileReaderTests {
    /// A fresh directory, removed when the test ends.
    final class Directory {
        let path = NSTemporaryDirectory() + "basics-test-" + UUID().uuidString
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        func write(_ name: String, _ bytes: [UInt8]) throws -> String {
            let file = path + "/" + name
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            return file
        }
    }

    func code(_ body: () throws(FileReadError) -> [UInt8]) -> FileReadError.Code? {
        do { _ = try body(); return nil } catch { return error.code }
    }

    @Test func readsWholeFilesUpToTheBound() throws {
        let dir = try Directory()
        let big = (0..<40_000).map { UInt8(truncatingIfNeeded: $0) }
        let file = try dir.write("big", big)
        #expect(try BoundedFileReader.read(file, maxBytes: big.count) == big)
        #expect(try BoundedFileReader.read(try dir.write("empty", []), maxBytes: 0) == [])
        #expect(code { () throws(FileReadError) in try BoundedFileReader.read(file, maxBytes: big.count - 1) } == .tooLarge(big.count - 1))
    }

    /// /proc files report size 0: they are read to the end, still within the bound.
    @Test func readsProcFiles() throws {
        let status = try BoundedFileReader.read("/proc/self/status", maxBytes: 1 << 20)
        #expect(String(decoding: status, as: UTF8.self).hasPrefix("Name:"))
        #expect(code { () throws(FileReadError) in try BoundedFileReader.read("/proc/self/status", maxBytes: 8) } == .tooLarge(8))
    }

    @Test func refusesWhatIsNotARegularFile() throws {
        let dir = try Directory()
        #expect(code { () throws(FileReadError) in try BoundedFileReader.read(dir.path, maxBytes: 10) } == .notRegularFile)
        let fifo = dir.path + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        // Refused, not blocked in open(2) waiting for a writer.
        #expect(code { () throws(FileReadError) in try BoundedFileReader.read(fifo, maxBytes: 10) } == .notRegularFile)
        #expect(code { () throws(FileReadError) in try BoundedFileReader.read("/dev/zero", maxBytes: 10) } == .notRegularFile)
    }

    @Test func missingFilesAndRefusedLinksNameThePath() throws {
        let dir = try Directory()
        let missing = dir.path + "/missing"
        do {
            _ = try BoundedFileReader.read(missing, maxBytes: 10)
            Issue.record("read a missing file")
        } catch {
            #expect(error.code == .cannotOpen && error.errno == ENOENT)
            #expect(error.description == "\(missing): cannot open (No such file or directory)")
        }
        let target = try dir.write("target", Array("x".utf8))
        let link = dir.path + "/link"
        #expect(symlink(target, link) == 0)
        #expect(try BoundedFileReader.read(link, maxBytes: 10) == Array("x".utf8))
        #expect(code { () throws(FileReadError) in try BoundedFileReader.read(link, maxBytes: 10, followSymlinks: false) } == .cannotOpen)
        #expect(FileReadError(.tooLarge(5), path: "/a").description == "/a: larger than 5 bytes")
        #expect(FileReadError(.notRegularFile, path: "/a").description == "/a: not a regular file")
    }
}
