import EventLoop
import Foundation
import Glibc

/// `gateway-bench load`: a load generator for the Jupyter kernel WebSocket API, on the project's own event loops.
/// Works against this gateway, Jupyter Kernel Gateway and Jupyter Server (same REST and WebSocket paths).
/// Modes: `requests` (default; throughput and latency), `fanout`, `start`, `connections`, `stream`, plus
/// `--direct` (ZeroMQ straight to an echo-kernel, the floor) and `--self-test` (the client codec against the
/// server codec, in memory). Exit status 0 when the run had no errors, 1 otherwise, 2 for bad arguments.
enum LoadCommand {
    static func run(_ arguments: [String]) -> Int32 {
        let options: LoadOptions
        do { options = try LoadOptions.parse(arguments) } catch {
            if !error.message.isEmpty { FileHandle.standardError.write(Data("gateway-bench load: \(error.message)\n".utf8)) }
            FileHandle.standardError.write(Data(LoadOptions.usage.utf8))
            return 2
        }
        if options.selfTest { return ClientCodecSelfTest.run() }
        signal(SIGPIPE, SIG_IGN)
        raiseOpenFileLimit(to: 1 << 20)
        let group: EventLoopGroup
        do { group = try EventLoopGroup(count: options.loops) } catch {
            FileHandle.standardError.write(Data("gateway-bench load: \(error)\n".utf8))
            return 1
        }
        defer { group.shutdown() }
        let session = LoadSession(options: options, group: group)
        var report: LoadReport
        if options.direct {
            report = DirectLoad.run(session)
        } else {
            switch options.mode {
            case .requests: report = RequestsLoad.run(session)
            case .fanout: report = FanoutLoad.run(session)
            case .start: report = StartLoad.run(session)
            case .connections: report = ConnectionsLoad.run(session)
            case .stream: report = StreamLoad.run(session)
            }
        }
        let leftover = session.deleteKernels()
        if !leftover.isEmpty {
            report.set("cleanup_errors", leftover)
            report.line("cleanup errors: \(leftover.joined(separator: "; "))")
        }
        report.print(json: options.json)
        let errors = report.fields.first { $0.0 == "errors" }?.1 as? Int ?? 0
        return errors == 0 && leftover.isEmpty ? 0 : 1
    }
}
