/// A test hook: one line of `execute_request` code whose first word starts with `%` and names a hook.
///
/// Hooks (see docs/echo-kernel.md; the first word decides, the rest of the line is the argument):
/// - `%input PROMPT`   input_request on stdin, then stream `PROMPT` + value and execute_result = value.
/// - `%sleep SECONDS`  interruptible sleep (SIGINT or interrupt_request -> KeyboardInterrupt error).
/// - `%error MESSAGE`  fail with ename `EchoError`, evalue MESSAGE.
/// - `%exit [CODE]`    `_exit(CODE)` at once, no reply (default 1).
/// - `%stream N [SIZE]` N stdout stream messages of SIZE bytes (default 10), text `"<seq>:xxx…"`, seq 0..<N.
/// - `%received`       execute_result = JSON list of `[channel, msg_type, username]` received so far.
/// - `%env NAME`       execute_result = value of environment variable NAME (empty when unset).
/// - `%display [TEXT]` display_data with text/plain TEXT (default `display`).
/// Any other line (including unknown `%words`) is echoed. Pure parsing, no I/O.
enum ExecuteHook: Equatable {
    case input(prompt: String)
    case sleep(seconds: Double)
    case error(message: String)
    case exit(code: Int32)
    case stream(count: Int, size: Int)
    case received
    case env(name: String)
    case display(text: String)
    /// A known hook with unusable arguments; `usage` is the message for the resulting error.
    case invalid(usage: String)

    /// Upper bounds that keep a typo from exhausting memory or time.
    static let maxStreamCount = 10_000_000
    static let maxStreamSize = 16 << 20
    static let maxSleepSeconds = 86_400.0

    /// Names completed by `complete_request`.
    static let names = ["%display", "%env", "%error", "%exit", "%input", "%received", "%sleep", "%stream"]

    /// Parses one line (without its newline); nil when the line is not a hook and is to be echoed.
    static func parse(line rawLine: Substring) -> ExecuteHook? {
        var line = rawLine
        if line.last == "\r" { line = line.dropLast() }
        guard line.first == "%" else { return nil }
        let word: Substring
        let argument: Substring
        if let space = line.firstIndex(where: { $0 == " " || $0 == "\t" }) {
            word = line[..<space]
            argument = line[line.index(after: space)...]
        } else {
            word = line
            argument = ""
        }
        let trimmed = argument.trimmingWhitespace()
        switch word {
        case "%input":
            return .input(prompt: String(argument))
        case "%sleep":
            guard let seconds = Double(trimmed), seconds >= 0, seconds <= maxSleepSeconds else {
                return .invalid(usage: "usage: %sleep SECONDS (0...\(Int(maxSleepSeconds)))")
            }
            return .sleep(seconds: seconds)
        case "%error":
            return .error(message: String(argument))
        case "%exit":
            if trimmed.isEmpty { return .exit(code: 1) }
            guard let code = Int32(trimmed), (0...255).contains(code) else {
                return .invalid(usage: "usage: %exit [CODE] (0...255)")
            }
            return .exit(code: code)
        case "%stream":
            let words = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard (1...2).contains(words.count), let count = Int(words[0]), (0...maxStreamCount).contains(count)
            else { return .invalid(usage: "usage: %stream N [SIZE]") }
            var size = 10
            if words.count == 2 {
                guard let s = Int(words[1]), (1...maxStreamSize).contains(s) else {
                    return .invalid(usage: "usage: %stream N [SIZE] (SIZE 1...\(maxStreamSize))")
                }
                size = s
            }
            return .stream(count: count, size: size)
        case "%received":
            return trimmed.isEmpty ? .received : .invalid(usage: "usage: %received")
        case "%env":
            guard !trimmed.isEmpty, !trimmed.contains("=") else { return .invalid(usage: "usage: %env NAME") }
            return .env(name: String(trimmed))
        case "%display":
            return .display(text: trimmed.isEmpty ? "display" : String(argument))
        default:
            return nil
        }
    }

    /// True when any line of `code` starts with `%` (cheap pre-check before splitting into hooks).
    static func mayContainHooks(_ code: UnsafeRawBufferPointer) -> Bool {
        var lineStart = true
        for b in code {
            if lineStart && b == UInt8(ascii: "%") { return true }
            lineStart = b == UInt8(ascii: "\n")
        }
        return false
    }
}

extension Substring {
    /// The substring without leading and trailing spaces, tabs and line ends.
    func trimmingWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }
}
