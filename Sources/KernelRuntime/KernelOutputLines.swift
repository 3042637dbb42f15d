/// Turns what a kernel process writes to its standard output and error into lines for the gateway's log.
///
/// Kernels no longer share the gateway's stdout and stderr: they write into a pipe the gateway reads, and each
/// line becomes the `line` field of a structured log record. A kernel therefore cannot write a line that looks
/// like one of the gateway's own records (it would arrive escaped, inside a `kernel output` record). Bounded:
/// lines are cut at `maxLineBytes`, and a token bucket (`burstBytes`, refilled at `bytesPerSecond`) drops lines
/// from a kernel that floods its stderr, counting them so the log says how many were lost. Pure: time is passed
/// in (monotonic nanoseconds).
public struct KernelOutputLines: Sendable {
    public static let maxLineBytes = 2048
    public static let burstBytes = 64 * 1024
    public static let bytesPerSecond = 16 * 1024

    private var partial: [UInt8] = []
    private var partialTruncated = false
    private var budget = Double(burstBytes)
    private var lastRefill: UInt64?
    /// Lines dropped since the last notice.
    public private(set) var dropped = 0

    public init() {}

    /// Feeds bytes read from the pipe; returns the complete lines to log (a notice of dropped lines first, once
    /// the budget allows logging again).
    public mutating func feed(_ bytes: some Collection<UInt8>, now: UInt64) -> [String] {
        refill(now: now)
        var lines: [String] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                emit(into: &lines)
            } else if partial.count < Self.maxLineBytes {
                partial.append(byte)
            } else {
                partialTruncated = true
            }
        }
        return lines
    }

    /// The last, unterminated line (at end of file), if any.
    public mutating func finish() -> [String] {
        var lines: [String] = []
        if !partial.isEmpty || partialTruncated { emit(into: &lines) }
        if dropped > 0 {
            lines.append("[kernel-gateway] \(dropped) lines of kernel output dropped (more than \(Self.bytesPerSecond) bytes/s)")
            dropped = 0
        }
        return lines
    }

    private mutating func emit(into lines: inout [String]) {
        defer {
            partial.removeAll(keepingCapacity: true)
            partialTruncated = false
        }
        let cost = Double(partial.count + 1)
        guard budget >= cost else {
            dropped += 1
            return
        }
        budget -= cost
        if dropped > 0 {
            lines.append("[kernel-gateway] \(dropped) lines of kernel output dropped (more than \(Self.bytesPerSecond) bytes/s)")
            dropped = 0
        }
        lines.append(String(decoding: partial, as: UTF8.self) + (partialTruncated ? " [...]" : ""))
    }

    private mutating func refill(now: UInt64) {
        if let last = lastRefill, now > last {
            budget = min(Double(Self.burstBytes), budget + Double(now - last) / 1e9 * Double(Self.bytesPerSecond))
        }
        lastRefill = now
    }
}
