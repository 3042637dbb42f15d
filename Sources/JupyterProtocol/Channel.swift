/// A Jupyter kernel channel: the one channel type of the whole gateway (wire format, authorization rules,
/// kernel sockets, connection files). The raw value is the name used on the wire (WebSocket `channel` field,
/// v1 channel part, connection file `<name>_port`).
public enum Channel: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
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

    /// The channels that carry Jupyter messages (every channel but the heartbeat's raw echo).
    public static let messageChannels: [Channel] = [.shell, .control, .stdin, .iopub]

    /// A dense index (0 shell, 1 control, 2 stdin, 3 iopub, 4 hb) for per-channel counters in arrays.
    @inlinable public var index: Int {
        switch self {
        case .shell: 0
        case .control: 1
        case .stdin: 2
        case .iopub: 3
        case .hb: 4
        }
    }

    /// The wire name.
    public var name: String { rawValue }
    public var description: String { rawValue }

    /// Parses a channel from its exact wire name.
    public init?(name: String) { self.init(rawValue: name) }

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
