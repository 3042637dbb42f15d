import Glibc

// echo-kernel: a small, fast, protocol-correct Jupyter kernel for the gateway's tests and benchmarks.
// Usage: echo-kernel -f CONNECTION_FILE   (test hooks: see ExecuteHook.swift and docs/echo-kernel.md)

func connectionFilePath(_ arguments: [String]) -> String? {
    var i = 1
    while i < arguments.count {
        let argument = arguments[i]
        if argument == "-f" || argument == "--connection-file" || argument == "--f" {
            return i + 1 < arguments.count ? arguments[i + 1] : nil
        }
        for prefix in ["-f=", "--f=", "--connection-file="] where argument.hasPrefix(prefix) {
            return String(argument.dropFirst(prefix.count))
        }
        i += 1
    }
    return nil
}

guard let path = connectionFilePath(CommandLine.arguments) else {
    Log.message("usage: echo-kernel -f CONNECTION_FILE")
    exit(2)
}
do {
    let connection = try ConnectionFile.load(path: path)
    let interruptFD = try InterruptSignal.install()
    let kernel = try EchoKernel(connection: connection, interruptFD: interruptFD)
    kernel.run()
} catch {
    Log.message("\(error)")
    exit(1)
}
