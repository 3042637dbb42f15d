import Foundation
import JupyterProtocol

/// The contents of a Jupyter connection file: where a kernel listens and the key that signs its messages.
///
/// Encodes to (and decodes from) exactly the JSON jupyter_client writes and kernels read. A plain value; the
/// key is a secret, so do not log `encodedJSON()` or the value's `key`.
public struct ConnectionInfo: Sendable, Equatable, Codable {
    /// The ZeroMQ transport (`transport` in the file).
    public enum Transport: String, Sendable, Codable {
        case tcp, ipc
    }

    public var shellPort: Int
    public var iopubPort: Int
    public var stdinPort: Int
    public var controlPort: Int
    public var hbPort: Int
    /// The address the kernel binds (`127.0.0.1` unless configured otherwise), or the ipc path prefix.
    public var ip: String
    /// The HMAC key, as text; its UTF-8 bytes are the key. Empty disables signing (never used by the gateway).
    public var key: String
    public var transport: Transport
    /// Always `hmac-sha256` for kernels the gateway starts.
    public var signatureScheme: String
    public var kernelName: String

    enum CodingKeys: String, CodingKey {
        case shellPort = "shell_port", iopubPort = "iopub_port", stdinPort = "stdin_port"
        case controlPort = "control_port", hbPort = "hb_port", ip, key, transport
        case signatureScheme = "signature_scheme", kernelName = "kernel_name"
    }

    /// Creates connection info from explicit parts.
    public init(
        shellPort: Int, iopubPort: Int, stdinPort: Int, controlPort: Int, hbPort: Int, ip: String = "127.0.0.1",
        key: String, transport: Transport = .tcp, signatureScheme: String = "hmac-sha256", kernelName: String
    ) {
        self.shellPort = shellPort
        self.iopubPort = iopubPort
        self.stdinPort = stdinPort
        self.controlPort = controlPort
        self.hbPort = hbPort
        self.ip = ip
        self.key = key
        self.transport = transport
        self.signatureScheme = signatureScheme
        self.kernelName = kernelName
    }

    /// Creates loopback TCP connection info for `kernelName` from five allocated ports (in the order shell,
    /// iopub, stdin, control, hb, as returned by `LoopbackPortAllocator.allocate`) and a fresh random key.
    public init(kernelName: String, ports: [Int]) {
        let port = { (index: Int) in index < ports.count ? ports[index] : 0 }
        var generator = SystemRandomNumberGenerator()
        self.init(
            shellPort: port(0), iopubPort: port(1), stdinPort: port(2), controlPort: port(3), hbPort: port(4),
            key: Self.generateKey(using: &generator), kernelName: kernelName)
    }

    /// Creates `ipc://` connection info: the channels are the Unix sockets `<ipcPrefix>-1` (shell) to
    /// `<ipcPrefix>-5` (heartbeat), which the kernel creates in its private directory; a fresh random key.
    public init(kernelName: String, ipcPrefix: String) {
        var generator = SystemRandomNumberGenerator()
        self.init(
            shellPort: 1, iopubPort: 2, stdinPort: 3, controlPort: 4, hbPort: 5, ip: ipcPrefix,
            key: Self.generateKey(using: &generator), transport: .ipc, kernelName: kernelName)
    }

    /// 32 random bytes as 64 lowercase hex characters. Use `SystemRandomNumberGenerator` (the default
    /// elsewhere) in production; a seeded generator only in tests.
    public static func generateKey<G: RandomNumberGenerator>(using generator: inout G) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for _ in 0..<4 {
            let word = generator.next() as UInt64
            for shift in stride(from: 60, through: 0, by: -4) {
                text.append(digits[Int((word >> UInt64(shift)) & 0xf)])
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The port of `channel`.
    public func port(of channel: Channel) -> Int {
        switch channel {
        case .shell: return shellPort
        case .iopub: return iopubPort
        case .stdin: return stdinPort
        case .control: return controlPort
        case .hb: return hbPort
        }
    }

    /// The ZeroMQ endpoint to connect to for `channel`: `tcp://127.0.0.1:PORT` (IPv6 addresses in brackets),
    /// or `ipc://IP-PORT` for the ipc transport, as jupyter_client builds them.
    public func endpoint(for channel: Channel) -> String {
        let port = port(of: channel)
        switch transport {
        case .tcp:
            let host = ip.contains(":") && !ip.hasPrefix("[") ? "[\(ip)]" : ip
            return "tcp://\(host):\(port)"
        case .ipc:
            return "ipc://\(ip)-\(port)"
        }
    }

    /// The connection-file JSON (sorted keys, as bytes).
    public func encodedJSON() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        // Encoding strings and integers cannot fail.
        return (try? [UInt8](encoder.encode(self))) ?? []
    }

    /// Decodes connection-file JSON. Throws `.invalidJSON` mentioning `context` (e.g. the file path).
    public static func decode(_ bytes: [UInt8], context: String) throws -> ConnectionInfo {
        do {
            return try JSONDecoder().decode(ConnectionInfo.self, from: Data(bytes))
        } catch {
            throw KernelRuntimeError(.invalidJSON, "\(context): not a valid connection file (\(error))")
        }
    }
}
