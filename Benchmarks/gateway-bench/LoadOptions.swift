import Foundation

/// The command line of `gateway-bench load` (see `LoadOptions.usage`).
struct LoadOptions: Sendable {
    enum Mode: String, Sendable {
        case requests, fanout, start, connections, stream
    }

    enum Message: String, Sendable {
        case kernelInfo = "kernel_info"
        case execute
    }

    var url: GatewayURL?
    var tokens: [String] = []
    var kernelName = "echo"
    var kernels = 1
    var clients = 1
    var inflight = 1
    var seconds: Double?
    var messages: Int?
    var message = Message.kernelInfo
    var wire = WireProtocol.json
    var serverPID: Int32?
    var json = false
    var mode = Mode.requests
    var users = 1
    /// `--mode start`: kernels started one at a time (each deleted before the next) for the single-start baseline.
    var singleStarts = 3
    var direct = false
    var code = "1"
    var rounds = 200
    var streamCount = 100_000
    var streamSize = 100
    var warmupSeconds = 1.0
    var loops = 1
    var label: String?
    var selfTest = false
    var echoKernelPath: String?
    var connectBatch = 500

    static let usage = """
        usage: gateway-bench load --url URL (--token T | --tokens-file F) [--kernel NAME] [--kernels K] [--clients C]
                                  [--inflight P] (--seconds S | --messages N) [--msg kernel_info|execute]
                                  [--protocol json|v1] [--server-pid PID] [--json] [--loops L] [--label TEXT]
               gateway-bench load --mode fanout --clients M [--rounds R] ...
               gateway-bench load --mode start --users U [--single-starts N] ...
               gateway-bench load --mode connections --clients N [--kernels K] ...
               gateway-bench load --mode stream [--stream-count N] [--stream-size BYTES] ...
               gateway-bench load --direct [--echo-kernel PATH] [--kernels K] [--clients C] [--inflight P] (--seconds S | --messages N)
               gateway-bench load --self-test
        Every mode starts its own kernels over REST and deletes them at the end. --server-pid adds the server's CPU
        seconds per bridged WebSocket message and its RSS (in the requests mode also its kernels' CPU, and server +
        kernels CPU per request). --code sets the execute_request code (default "1").

        """

    struct ParseError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// Parses the arguments after `load`. Throws `ParseError` naming the bad option.
    static func parse(_ arguments: [String], readFile: (String) -> String? = { try? String(contentsOfFile: $0, encoding: .utf8) }) throws(ParseError) -> LoadOptions {
        var o = LoadOptions()
        var i = 0
        func value() throws(ParseError) -> String {
            guard i + 1 < arguments.count else { throw ParseError(message: "\(arguments[i]) needs a value") }
            i += 1
            return arguments[i]
        }
        func int(_ range: ClosedRange<Int>) throws(ParseError) -> Int {
            let name = arguments[i]
            let text = try value()
            guard let v = Int(text), range.contains(v) else { throw ParseError(message: "\(name) must be an integer in \(range)") }
            return v
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--url":
                let text = try value()
                guard let url = GatewayURL(text) else { throw ParseError(message: "--url must look like http://127.0.0.1:8888") }
                o.url = url
            case "--token": o.tokens = [try value()]
            case "--tokens-file":
                let path = try value()
                guard let text = readFile(path) else { throw ParseError(message: "cannot read \(path)") }
                o.tokens = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                guard !o.tokens.isEmpty else { throw ParseError(message: "\(path) holds no tokens") }
            case "--kernel": o.kernelName = try value()
            case "--kernels": o.kernels = try int(1...100_000)
            case "--clients": o.clients = try int(1...1_000_000)
            case "--inflight": o.inflight = try int(1...100_000)
            case "--seconds":
                let name = arguments[i]
                guard let s = Double(try value()), s > 0, s <= 86_400 else { throw ParseError(message: "\(name) must be a positive number") }
                o.seconds = s
            case "--messages": o.messages = try int(1...Int(Int32.max))
            case "--msg":
                let text = try value()
                guard let m = Message(rawValue: text) else { throw ParseError(message: "--msg must be kernel_info or execute") }
                o.message = m
            case "--protocol":
                let text = try value()
                guard let w = WireProtocol(rawValue: text) else { throw ParseError(message: "--protocol must be json or v1") }
                o.wire = w
            case "--server-pid": o.serverPID = Int32(try int(1...Int(Int32.max)))
            case "--json": o.json = true
            case "--mode":
                let text = try value()
                guard let m = Mode(rawValue: text) else { throw ParseError(message: "--mode must be requests, fanout, start, connections or stream") }
                o.mode = m
            case "--users": o.users = try int(1...100_000)
            case "--single-starts": o.singleStarts = try int(1...100_000)
            case "--direct": o.direct = true
            case "--code": o.code = try value()
            case "--rounds": o.rounds = try int(1...10_000_000)
            case "--stream-count": o.streamCount = try int(1...10_000_000)
            case "--stream-size": o.streamSize = try int(1...(16 << 20))
            case "--warmup":
                guard let s = Double(try value()), s >= 0 else { throw ParseError(message: "--warmup must be >= 0") }
                o.warmupSeconds = s
            case "--loops": o.loops = try int(1...64)
            case "--label": o.label = try value()
            case "--self-test": o.selfTest = true
            case "--echo-kernel": o.echoKernelPath = try value()
            case "--connect-batch": o.connectBatch = try int(1...100_000)
            case "--help", "-h": throw ParseError(message: "")
            default: throw ParseError(message: "unknown option \(arguments[i])")
            }
            i += 1
        }
        if o.selfTest { return o }
        if !o.direct {
            guard o.url != nil else { throw ParseError(message: "--url is required") }
        }
        if o.mode == .requests && o.seconds == nil && o.messages == nil {
            throw ParseError(message: "--seconds or --messages is required")
        }
        return o
    }

    /// The token for kernel or client number `index` (round-robin over `--tokens-file`), nil without tokens.
    func token(_ index: Int) -> String? {
        tokens.isEmpty ? nil : tokens[index % tokens.count]
    }
}
