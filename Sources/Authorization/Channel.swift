/// A Jupyter kernel channel a client message can name.
public enum Channel: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case shell = 0
    case control = 1
    case stdin = 2
    case iopub = 3

    /// Parses a channel name.
    public init?(name: String) {
        switch name {
        case "shell": self = .shell
        case "control": self = .control
        case "stdin": self = .stdin
        case "iopub": self = .iopub
        default: return nil
        }
    }

    /// Parses a channel name from raw ASCII bytes without allocating.
    public init?(bytes: UnsafeRawBufferPointer) {
        func eq(_ s: StaticString) -> Bool {
            s.utf8CodeUnitCount == bytes.count
                && (bytes.count == 0
                    || memcmpBytes(bytes.baseAddress, UnsafeRawPointer(s.utf8Start), bytes.count))
        }
        if eq("shell") {
            self = .shell
        } else if eq("control") {
            self = .control
        } else if eq("stdin") {
            self = .stdin
        } else if eq("iopub") {
            self = .iopub
        } else {
            return nil
        }
    }

    /// The channel's name on the wire.
    public var name: String {
        switch self {
        case .shell: "shell"
        case .control: "control"
        case .stdin: "stdin"
        case .iopub: "iopub"
        }
    }

    public var description: String { name }
}

/// Byte equality of `count` bytes; `a` may be nil only when `count` is 0.
@inline(__always)
func memcmpBytes(_ a: UnsafeRawPointer?, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
    guard let a else { return count == 0 }
    var i = 0
    while i + 8 <= count {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
            return false
        }
        i += 8
    }
    while i < count {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i += 1
    }
    return true
}
