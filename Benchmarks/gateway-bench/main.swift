import Glibc

// gateway-bench: benchmark and test tools, one subcommand per mode, each implemented in its own file. Kept
// synchronous (no top-level `await`): an async main leaves the main thread in libdispatch with every signal
// unblocked, defeating SignalWatcher.
let usage = """
    usage: gateway-bench <subcommand> [options]

    subcommands:
      micro     per-operation ns and allocations of the message hot path (gateway-bench micro --help)
      load      load generator for any Jupyter gateway (gateway-bench load --help)
      \(WebSocketEchoServer.usage)
    """

let benchArguments = Array(CommandLine.arguments.dropFirst())
switch benchArguments.first {
case "micro":
    exit(MicroCommand.run(Array(benchArguments.dropFirst())))
case "load":
    exit(LoadCommand.run(Array(benchArguments.dropFirst())))
case "ws-echo":
    exit(WebSocketEchoServer.run(Array(benchArguments.dropFirst())))
case "help", "-h", "--help":
    print(usage)
default:
    FileStream.standardError.write(usage + "\n")
    exit(2)
}
