import Foundation
import Glibc

/// One echo-kernel that `--direct` starts itself: its process, its five loopback ports and its HMAC key (written
/// to a connection file of its own under the run's directory).
struct DirectKernel {
    struct LaunchError: Error {
        let message: String
    }

    let process: Process
    let ports: [Int]
    let key: [UInt8]

    /// The `tcp://` endpoint of port `index` (0 shell, 1 iopub, 2 stdin, 3 control, 4 heartbeat).
    func endpoint(_ index: Int) -> String { "tcp://127.0.0.1:\(ports[index])" }

    /// Writes kernel `index`'s connection file (free ports, a random key) into `directory` and starts it.
    static func launch(index: Int, executable: String, directory: URL) -> Result<DirectKernel, LaunchError> {
        let ports = (0..<5).compactMap { _ in DirectLoad.freePort() }
        guard ports.count == 5 else { return .failure(LaunchError(message: "no free ports")) }
        var generator = SystemRandomNumberGenerator()
        let key = (0..<16).map { _ in String(format: "%02x", generator.next() as UInt8) }.joined()
        let connection = """
            {"transport":"tcp","ip":"127.0.0.1","shell_port":\(ports[0]),"iopub_port":\(ports[1]),"stdin_port":\(ports[2]),\
            "control_port":\(ports[3]),"hb_port":\(ports[4]),"key":"\(key)","signature_scheme":"hmac-sha256","kernel_name":"echo"}
            """
        let connectionFile = directory.appendingPathComponent("kernel-\(index).json")
        do { try connection.write(to: connectionFile, atomically: true, encoding: .utf8) } catch {
            return .failure(LaunchError(message: "cannot write the connection file: \(error)"))
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-f", connectionFile.path]
        do { try process.run() } catch {
            return .failure(LaunchError(message: "cannot start echo-kernel: \(error)"))
        }
        return .success(DirectKernel(process: process, ports: ports, key: Array(key.utf8)))
    }
}

extension [DirectKernel] {
    /// The kernels' CPU seconds together; nil when one of them is gone.
    func kernelCPUSeconds() -> Double? {
        var total = 0.0
        for kernel in self {
            guard let stats = ProcessStats.read(pid: kernel.process.processIdentifier) else { return nil }
            total += stats.cpuSeconds
        }
        return total
    }
}
