import Foundation
import Testing

/// A fresh directory under the system temp dir, removed when the value is released. Tests only.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "kernelruntime-test-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            return mkdtemp(base) != nil
        }
        guard created else { throw CocoaError(.fileWriteUnknown) }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// `path/relative`.
    func url(_ relative: String) -> String { path + "/" + relative }

    /// Writes `text` to `relative`, creating parent directories.
    @discardableResult
    func write(_ relative: String, _ text: String) throws -> String {
        let full = url(relative)
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: full))
        return full
    }

    /// Writes a `kernel.json` for `name` under `base/name/` with the given argv.
    @discardableResult
    func writeSpec(base: String, name: String, argv: [String] = ["python3", "-m", "k", "-f", "{connection_file}"], displayName: String? = nil) throws -> String {
        let argvJSON = argv.map { "\"\($0)\"" }.joined(separator: ", ")
        let display = displayName ?? name
        return try write("\(base)/\(name)/kernel.json", #"{"argv": [\#(argvJSON)], "display_name": "\#(display)", "language": "x"}"#)
    }

    func makeDirectory(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: url(relative), withIntermediateDirectories: true)
    }

    func symlink(_ relative: String, to destination: String) throws {
        try FileManager.default.createSymbolicLink(atPath: url(relative), withDestinationPath: destination)
    }
}
