import Basics
import Foundation

/// The parts of a Jupyter connection file the kernel needs. Read once at startup (Foundation is fine here).
struct ConnectionFile {
    var transport: String
    var ip: String
    var shellPort: Int
    var iopubPort: Int
    var stdinPort: Int
    var controlPort: Int
    var hbPort: Int
    /// The HMAC key as its UTF-8 bytes; empty disables signing.
    var key: [UInt8]
    var signatureScheme: String

    /// Reads and validates the file at `path`. Throws `EchoKernelError` naming the problem.
    static func load(path: String) throws(EchoKernelError) -> ConnectionFile {
        let data: Data
        do { data = Data(try BoundedFileReader.read(path, maxBytes: 65536)) } catch {
            throw EchoKernelError("cannot read connection file \(error)")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw EchoKernelError("connection file \(path) is not JSON: \(error)")
        }
        guard let dict = object as? [String: Any] else {
            throw EchoKernelError("connection file \(path) is not a JSON object")
        }
        func port(_ name: String) throws(EchoKernelError) -> Int {
            guard let value = dict[name] as? Int, (1...65_535).contains(value) else {
                throw EchoKernelError("connection file: \(name) missing or not a port number")
            }
            return value
        }
        let scheme = dict["signature_scheme"] as? String ?? "hmac-sha256"
        let key = dict["key"] as? String ?? ""
        guard key.isEmpty || scheme == "hmac-sha256" else {
            throw EchoKernelError("unsupported signature_scheme \(scheme) (only hmac-sha256)")
        }
        let transport = dict["transport"] as? String ?? "tcp"
        guard transport == "tcp" || transport == "ipc" else {
            throw EchoKernelError("unsupported transport \(transport)")
        }
        return ConnectionFile(
            transport: transport, ip: dict["ip"] as? String ?? "127.0.0.1",
            shellPort: try port("shell_port"), iopubPort: try port("iopub_port"), stdinPort: try port("stdin_port"),
            controlPort: try port("control_port"), hbPort: try port("hb_port"),
            key: Array(key.utf8), signatureScheme: scheme)
    }

    /// The ZeroMQ endpoint for `port`, as jupyter_client builds it (`tcp://ip:port` or `ipc://ip-port`).
    func endpoint(_ port: Int) -> String {
        if transport == "ipc" { return "ipc://\(ip)-\(port)" }
        let host = ip.isEmpty ? "127.0.0.1" : ip
        return "tcp://\(host):\(port)"
    }
}
