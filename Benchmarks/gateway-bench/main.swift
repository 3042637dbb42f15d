// gateway-bench: one subcommand per benchmark, each implemented in its own file.
#if canImport(Glibc)
import Glibc
#endif

let usage = """
    usage: gateway-bench <subcommand> [options]

    subcommands:
      micro     per-operation ns and allocations of the message hot path (gateway-bench micro --help)
    """

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "micro":
    exit(MicroCommand.run(Array(arguments.dropFirst())))
case "help", "-h", "--help":
    print(usage)
default:
    FileStream.standardError.write(usage + "\n")
    exit(2)
}
