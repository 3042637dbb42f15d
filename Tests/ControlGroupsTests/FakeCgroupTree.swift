import Foundation

/// A directory tree that looks like cgroupfs to the code under test: directories and pre-created control files
/// (real cgroupfs creates them itself). Removed when the value is released. Tests only.
final class FakeCgroupTree {
    let root: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "cgroup-test-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            return mkdtemp(base) != nil
        }
        guard created else { throw CocoaError(.fileWriteUnknown) }
        root = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// Creates `relative` (a directory) with empty control files `files` (or with the given contents).
    func directory(_ relative: String, files: [String: String] = [:]) throws {
        let path = root + "/" + relative
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, contents) in files { try contents.write(toFile: path + "/" + name, atomically: false, encoding: .utf8) }
    }

    func read(_ relative: String) throws -> String { try String(contentsOfFile: root + "/" + relative, encoding: .utf8) }

    func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: root + "/" + relative) }
}
