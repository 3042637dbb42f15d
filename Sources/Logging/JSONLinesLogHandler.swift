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
        appendJSONString(time, to: &out)
        out.append(contentsOf: #","level":"#.utf8)
        appendJSONString(level.name, to: &out)
        out.append(contentsOf: #","logger":"#.utf8)
        appendJSONString(label, to: &out)
        out.append(contentsOf: #","msg":"#.utf8)
        appendJSONString(message, to: &out)
        for key in metadata.keys.sorted() where !["ts", "level", "logger", "msg"].contains(key) {
            out.append(UInt8(ascii: ","))
            appendJSONString(key, to: &out)
            out.append(UInt8(ascii: ":"))
            appendJSONString(metadata[key] ?? "", to: &out)
        }
        out.append(contentsOf: "}\n".utf8)
        return out
    }

    static func now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + "\(pad(Int32(ts.tv_nsec / 1_000_000), 3))Z"
    }

    /// Appends `s` as a quoted JSON string, escaping quotes, backslashes and control characters.
    public static func appendJSONString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): out.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): out.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
