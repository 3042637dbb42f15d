import Glibc

// gateway-bench: benchmark and test tools, one subcommand per mode. Kept synchronous (no top-level `await`):
// an async main leaves the main thread in libdispatch with every signal unblocked, defeating SignalWatcher.
let benchArguments = Array(CommandLine.arguments.dropFirst())
switch benchArguments.first {
case "ws-echo":
    exit(WebSocketEchoServer.run(Array(benchArguments.dropFirst())))
default:
    print("usage: gateway-bench MODE [options]\nmodes:\n  \(WebSocketEchoServer.usage)")
    exit(benchArguments.isEmpty || benchArguments.first == "--help" ? 0 : 2)
}
