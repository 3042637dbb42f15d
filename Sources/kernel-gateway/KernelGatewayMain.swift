import Basics
import Dispatch
import EventLoop
import Foundation
import Gateway
import Glibc
import Logging
import Synchronization

/// The `kernel-gateway` executable: configuration from flags, `KG_*` environment and a JSON file; the `users`
/// subcommand; signals (SIGINT/SIGTERM stop gracefully, SIGHUP reloads).
@main
enum KernelGatewayMain {
    /// Synchronous on purpose: signals must be blocked on the main thread before any other thread exists, so every
    /// thread inherits the mask and signals arrive only through the signalfd. (Top-level `await` code would run on
    /// a pool thread instead.)
    static func main() {
        do {
            try SignalWatcher.block([SIGINT, SIGTERM, SIGHUP])
        } catch {
            FileHandle.standardError.write(Data("kernel-gateway: \(error)\n".utf8))
            exit(1)
        }
        // Writes to peers that went away must fail with EPIPE, not kill the gateway.
        signal(SIGPIPE, SIG_IGN)
        // Park the main thread on a semaphore, not dispatchMain(): libdispatch's main loop unblocks signals on
        // this thread, and a SIGTERM delivered there would kill the process instead of reaching the signalfd.
        let finished = DispatchSemaphore(value: 0)
        Task.detached {
            await run()
            finished.signal()
        }
        finished.wait()
        exit(0)
    }

    static func run() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "users" {
            exit(UsersCommand.run(Array(arguments.dropFirst())))
        }

        let environment = ProcessInfo.processInfo.environment
        let configuration: GatewayConfiguration
        do {
            switch try GatewayConfiguration.load(arguments: arguments, environment: environment, readFile: { path in
                do { return Data(try BoundedFileReader.read(path, maxBytes: GatewayConfiguration.maxConfigFileBytes)) } catch {
                    throw GatewayError("cannot read \(error)")
                }
            }) {
            case .help:
                print(GatewayConfiguration.helpText, terminator: "")
                exit(0)
            case .run(let loaded):
                configuration = loaded
            }
        } catch {
            FileHandle.standardError.write(Data("kernel-gateway: \(error)\n".utf8))
            exit(2)
        }

        LoggingSystem.bootstrap(JSONLinesLogHandler(minimumLevel: Logger.Level(name: configuration.logLevel) ?? .info))
        let logger = Logger(label: "kernel-gateway")

        let gateway: Gateway
        do {
            gateway = try Gateway(configuration: configuration, environment: environment, logger: logger)
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            exit(1)
        }

        let signalLoop: EventLoop
        do { signalLoop = try EventLoop(index: 99) } catch {
            logger.critical("cannot start the signal loop", metadata: ["error": "\(error)"])
            exit(1)
        }

        let port: Int
        do {
            port = try await gateway.start()
        } catch {
            logger.critical("cannot listen", metadata: ["error": "\(error)"])
            exit(1)
        }

        let host = configuration.ip.contains(":") ? "[\(configuration.ip)]" : configuration.ip
        let url = "http://\(host):\(port)\(configuration.baseURL)"
        if let token = gateway.sharedToken, configuration.token == nil {
            // Like Jupyter: a generated token is shown once, on stdout, never in the log.
            FileHandle.standardOutput.write(Data("KernelGateway is running at \(url)?token=\(token)\n".utf8))
        } else {
            FileHandle.standardOutput.write(Data("KernelGateway is running at \(url)\n".utf8))
        }

        await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
            signalLoop.execute {
                let stopping = Mutex(false)
                do {
                    _ = try SignalWatcher(loop: signalLoop) { signal in
                        if signal == SIGHUP {
                            logger.info("SIGHUP: reloading")
                            Task { await gateway.reload() }
                            return
                        }
                        let first = stopping.withLock { old in
                            defer { old = true }
                            return !old
                        }
                        guard first else { return }
                        logger.info("stopping on signal", metadata: ["signal": "\(signal)"])
                        Task {
                            await gateway.stop()
                            finished.resume()
                        }
                    }
                } catch {
                    logger.critical("cannot watch signals", metadata: ["error": "\(error)"])
                    exit(1)
                }
            }
        }
    }
}
