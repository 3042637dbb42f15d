import Basics
import Glibc

/// Writes one JSON object per line to a file descriptor (stderr by default):
/// `{"ts":"2026-11-24T02:13:45.123Z","level":"info","logger":"gateway","msg":"...","key":"value"}`.
/// Each record is a single `write(2)`, so lines from different threads never interleave.
public struct JSONLinesLogHandler: LogHandler {
    public let minimumLevel: Logger.Level
    private let fd: Int32

    public init(minimumLevel: Logger.Level, fileDescriptor: Int32 = 2) {
        self.minimumLevel = minimumLevel
        self.fd = fileDescriptor
    }

    public func log(level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) {
        let line = Self.format(level: level, label: label, message: message, metadata: metadata, time: Self.now())
        line.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress?.advanced(by: offset), raw.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }

    /// One record as a JSON line (with the trailing newline). Metadata keys are sorted for stable output.
    public static func format(level: Logger.Level, label: String, message: String, metadata: Logger.Metadata,
                              time: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128 + message.utf8.count)
        out.append(contentsOf: #"{"ts":"#.utf8)
        JSONEscaper.appendQuoted(time, to: &out)
        out.append(contentsOf: #","level":"#.utf8)
        JSONEscaper.appendQuoted(level.name, to: &out)
        out.append(contentsOf: #","logger":"#.utf8)
        JSONEscaper.appendQuoted(label, to: &out)
        out.append(contentsOf: #","msg":"#.utf8)
        JSONEscaper.appendQuoted(message, to: &out)
        for key in metadata.keys.sorted() where !["ts", "level", "logger", "msg"].contains(key) {
            out.append(UInt8(ascii: ","))
            JSONEscaper.appendQuoted(key, to: &out)
            out.append(UInt8(ascii: ":"))
            JSONEscaper.appendQuoted(metadata[key] ?? "", to: &out)
        }
        out.append(contentsOf: "}\n".utf8)
        return out
    }

    /// The current time as the `ts` field: UTC, milliseconds.
    static func now() -> String { UTCTimestamp.now().iso8601(fractionDigits: 3) }
}
