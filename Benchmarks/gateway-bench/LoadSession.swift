import EventLoop
import Foundation
import Glibc
import Synchronization

/// What every load mode shares: the options, the client loops, the kernels started (deleted at the end, always),
/// and helpers to connect sockets and to run code on a loop and wait for it. Used from the main thread.
final class LoadSession {
    let options: LoadOptions
    let group: EventLoopGroup
    /// A per-run random prefix for session ids and msg_ids, so runs never collide on a long-lived server.
    let runID: String
    private(set) var kernels: [KernelREST.Started] = []

    init(options: LoadOptions, group: EventLoopGroup) {
        self.options = options
        self.group = group
        url = options.url ?? GatewayURL(host: "127.0.0.1", port: 8888, basePath: "/")
        var generator = SystemRandomNumberGenerator()
        runID = String(generator.next() as UInt32, radix: 16)
    }

    /// The server (LoadOptions.parse requires `--url` for every mode that reaches one; `--direct` never uses it).
    let url: GatewayURL

    /// The loop for client `index` (round-robin).
    func loop(_ index: Int) -> EventLoop { group.loops[index % group.loops.count] }

    /// Starts `count` kernels (kernel i with token i mod tokens), `parallel` at a time; records them for cleanup.
    func startKernels(_ count: Int, parallel: Int = 8) -> (kernels: [KernelREST.Started], errors: [String]) {
        let options = self.options
        let result = KernelREST.startMany(url, name: options.kernelName, count: count, parallel: parallel) { options.token($0) }
        let started = result.started.compactMap { $0 }
        kernels += started
        return (started, result.errors)
    }

    /// Records a kernel started elsewhere so it is deleted at the end.
    func adopt(_ kernel: KernelREST.Started) { kernels.append(kernel) }

    /// Deletes every recorded kernel; returns error messages.
    func deleteKernels() -> [String] {
        defer { kernels = [] }
        return KernelREST.deleteAll(url, kernels)
    }

    /// Connects each socket (blocking loopback connect on this thread) and starts its handshake on its loop,
    /// `options.connectBatch` at a time; waits until `opened() + failed()` covers them all or `timeout` passes.
    /// Returns connect errors.
    func connect(_ sockets: [BenchWebSocket], control: RunControl, timeout: Double = 120) -> [String] {
        var errors: [String] = []
        var launched = 0
        let deadline = Monotonic.now &+ UInt64(timeout * 1e9)
        for (i, socket) in sockets.enumerated() {
            do {
                let fd = try BlockingHTTPClient.connect(host: url.host, port: url.port)
                launched += 1
                socket.loop.execute { socket.start(fd: fd) }
            } catch {
                errors.append(error.message)
                control.failedToOpen.wrappingAdd(1, ordering: .relaxed)
            }
            if (i + 1) % options.connectBatch == 0 {
                // Let the server accept and answer this batch before opening more (bounded accept queue).
                let target = i + 1
                _ = waitUntil(deadline: deadline) {
                    control.opened.load(ordering: .relaxed) + control.failedToOpen.load(ordering: .relaxed) >= target
                }
            }
        }
        _ = waitUntil(deadline: deadline) {
            control.opened.load(ordering: .relaxed) + control.failedToOpen.load(ordering: .relaxed) >= sockets.count
        }
        return errors
    }

    /// Closes every socket (closing handshake) and waits up to `timeout` seconds for them to finish.
    func close(_ sockets: [BenchWebSocket], timeout: Double = 5) {
        for socket in sockets { socket.loop.execute { socket.close() } }
        let deadline = Monotonic.now &+ UInt64(timeout * 1e9)
        _ = waitUntil(deadline: deadline) {
            sockets.allSatisfy { s in onLoop(s.loop) { s.isClosed } }
        }
        for socket in sockets { socket.loop.execute { socket.abort() } }
    }
}

/// Polls `condition` every millisecond until it holds (true) or `deadline` (Monotonic ns) passes (false).
func waitUntil(deadline: UInt64, _ condition: () -> Bool) -> Bool {
    while true {
        if condition() { return true }
        if Monotonic.now >= deadline { return false }
        usleep(1000)
    }
}

/// Runs `body` on `loop`'s thread and returns its result to the calling (non-loop) thread.
func onLoop<T: Sendable>(_ loop: EventLoop, _ body: @escaping @Sendable () -> T) -> T {
    if loop.inEventLoop { return body() }
    let box = ResultBox<T>()
    loop.execute {
        box.value.withLock { $0 = body() }
        box.done.signal()
    }
    box.done.wait()
    guard let value = box.value.withLock({ $0 }) else { preconditionFailure("onLoop: body did not run") }
    return value
}

private final class ResultBox<T: Sendable>: Sendable {
    let value = Mutex<T?>(nil)
    let done = DispatchSemaphore(value: 0)
}

/// Sleeps the calling thread for `seconds`.
func sleepSeconds(_ seconds: Double) {
    guard seconds > 0 else { return }
    var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
    var remaining = timespec()
    while nanosleep(&ts, &remaining) != 0 && errno == EINTR { ts = remaining }
}
