import Glibc

if CommandLine.arguments.dropFirst().first == "load" { exit(LoadCommand.run(Array(CommandLine.arguments.dropFirst(2)))) }
print("gateway-bench")
