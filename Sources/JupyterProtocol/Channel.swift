/// A Jupyter kernel channel. The raw value is the name used on the wire (WebSocket `channel` field,
/// v1 channel part, connection file `<name>_port`).
public enum Channel: String, Sendable, Hashable, CaseIterable {
    /// Requests and replies (execute, complete, inspect, kernel_info, comm_*).
    case shell
    /// Kernel broadcasts: status, streams, display data, errors.
    case iopub
    /// Kernel asks the client for input (`input_request` / `input_reply`).
    case stdin
    /// Out-of-band requests: interrupt, shutdown, debug.
    case control
    /// Heartbeat (raw echo, no Jupyter messages).
    case hb

    /// Parses a channel from its exact wire name given as raw bytes (no quotes, no escapes).
    /// Returns nil for anything else. Does not allocate.
    public init?(bytes: UnsafeRawBufferPointer) {
        // Dispatch on length and first byte first: this runs once per inbound message.
        switch bytes.count {
        case 2:
            guard bytes[0] == 0x68, bytes[1] == 0x62 else { return nil }  // hb
            self = .hb
        case 5:
            if Channel.matches(bytes, "shell") { self = .shell }
            else if Channel.matches(bytes, "iopub") { self = .iopub }
            else if Channel.matches(bytes, "stdin") { self = .stdin }
            else { return nil }
        case 7:
            guard Channel.matches(bytes, "control") else { return nil }
            self = .control
        default:
            return nil
        }
    }

    /// Parses a channel from its exact wire name given as bytes.
    public init?(bytes: [UInt8]) {
        guard let c = bytes.withUnsafeBytes({ Channel(bytes: $0) }) else { return nil }
        self = c
    }

    /// The wire name as a static string whose bytes live for the whole program
    /// (usable as a ZeroMQ or WebSocket part without copying).
    public var wireName: StaticString {
        switch self {
        case .shell: return "shell"
        case .iopub: return "iopub"
        case .stdin: return "stdin"
        case .control: return "control"
        case .hb: return "hb"
        }
    }

    /// Calls `body` with the wire name's bytes.
    @inlinable
    public func withWireName<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let name = wireName
        return try body(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
    }

    private static func matches(_ bytes: UnsafeRawBufferPointer, _ name: StaticString) -> Bool {
        guard bytes.count == name.utf8CodeUnitCount else { return false }
        let p = name.utf8Start
        for i in 0..<bytes.count where bytes[i] != p[i] { return false }
        return true
    }
}
