import JupyterProtocol

/// The request content members the echo kernel reads, located in one validating pass over the content
/// dict. Values are absolute byte ranges into the scanned content (raw JSON, ready to splice into replies);
/// nil means absent. Pure; holds no pointer, so it is read against the same content buffer.
struct RequestContent {
    var code: JSONStringToken?
    var silent: Range<Int>?
    var storeHistory: Range<Int>?
    var allowStdin: Range<Int>?
    var stopOnError: Range<Int>?
    var cursorPos: Range<Int>?
    var commID: JSONStringToken?
    var targetName: JSONStringToken?
    var data: Range<Int>?
    var restart: Range<Int>?
    var value: JSONStringToken?
    var seq: Range<Int>?
    var command: JSONStringToken?

    /// Scans `content` (which must be one JSON object). Throws `ProtocolError` for invalid JSON, a
    /// non-object, or a member that must be a string but is not (`code`, `comm_id`, `target_name`,
    /// `value`, `command`).
    init(scanning content: UnsafeRawBufferPointer) throws(ProtocolError) {
        let scanner = JSONScanner(content)
        var result = RequestContent()
        try scanner.forEachMember { (key, value) throws(ProtocolError) in
            func string() throws(ProtocolError) -> JSONStringToken {
                guard content[value.lowerBound] == UInt8(ascii: "\"") else {
                    throw ProtocolError(.wrongType, "content member is not a string", offset: value.lowerBound)
                }
                return try scanner.scanString(at: value.lowerBound)
            }
            switch key.range.count - 2 {
            case 3 where scanner.string(key, equals: "seq"): result.seq = value
            case 4 where scanner.string(key, equals: "code"): result.code = try string()
            case 4 where scanner.string(key, equals: "data"): result.data = value
            case 5 where scanner.string(key, equals: "value"): result.value = try string()
            case 6 where scanner.string(key, equals: "silent"): result.silent = value
            case 7 where scanner.string(key, equals: "comm_id"): result.commID = try string()
            case 7 where scanner.string(key, equals: "restart"): result.restart = value
            case 7 where scanner.string(key, equals: "command"): result.command = try string()
            case 10 where scanner.string(key, equals: "cursor_pos"): result.cursorPos = value
            case 11 where scanner.string(key, equals: "allow_stdin"): result.allowStdin = value
            case 11 where scanner.string(key, equals: "target_name"): result.targetName = try string()
            case 13 where scanner.string(key, equals: "store_history"): result.storeHistory = value
            case 13 where scanner.string(key, equals: "stop_on_error"): result.stopOnError = value
            default:
                // Escaped keys (`"co\u0064e"`) are legal JSON: fall back to decoded comparison.
                if key.hasEscapes { try result.assignEscaped(key: key, value: value, scanner: scanner, string: string) }
            }
        }
        self = result
    }

    init() {}

    private mutating func assignEscaped(
        key: JSONStringToken, value: Range<Int>, scanner: JSONScanner,
        string: () throws(ProtocolError) -> JSONStringToken
    ) throws(ProtocolError) {
        if scanner.string(key, equals: "code") { code = try string() }
        else if scanner.string(key, equals: "silent") { silent = value }
        else if scanner.string(key, equals: "store_history") { storeHistory = value }
        else if scanner.string(key, equals: "allow_stdin") { allowStdin = value }
        else if scanner.string(key, equals: "stop_on_error") { stopOnError = value }
        else if scanner.string(key, equals: "cursor_pos") { cursorPos = value }
        else if scanner.string(key, equals: "comm_id") { commID = try string() }
        else if scanner.string(key, equals: "target_name") { targetName = try string() }
        else if scanner.string(key, equals: "data") { data = value }
        else if scanner.string(key, equals: "restart") { restart = value }
        else if scanner.string(key, equals: "value") { self.value = try string() }
        else if scanner.string(key, equals: "seq") { seq = value }
        else if scanner.string(key, equals: "command") { command = try string() }
    }

    /// The boolean at `range` in `content`: true only for the literal `true`; `fallback` when absent.
    static func bool(_ range: Range<Int>?, in content: UnsafeRawBufferPointer, default fallback: Bool) -> Bool {
        guard let range else { return fallback }
        return content[range.lowerBound] == UInt8(ascii: "t")
    }

    /// The non-negative integer at `range`, or nil when absent, not a plain integer, or absurdly large.
    static func int(_ range: Range<Int>?, in content: UnsafeRawBufferPointer) -> Int? {
        guard let range, !range.isEmpty, range.count <= 15 else { return nil }
        var v = 0
        for i in range {
            let d = content[i] &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            v = v * 10 + Int(d)
        }
        return v
    }
}
