import Basics

/// Encodes `AuditEvent`s as JSON lines: one object per line, keys in a fixed order, `\n` terminated.
///
/// `{"time":"2025-01-02T03:04:05.678Z","user":"alice","action":"execute","resource":"kernels/k1",
/// "outcome":"denied","reason":"...","remote":"127.0.0.1"}` (absent optional fields are omitted; a
/// missing user is written as null).
///
/// Free-text fields pass through `redact` first: the value of any `token=` parameter and any run of 32 or
/// more hex digits (the shape of issued tokens and their digests) become `[redacted]`, so a token that
/// slipped into a URL or message never reaches the log. Stateless; safe from any thread.
public enum AuditEncoder {
    /// The event as one JSON line, newline included.
    public static func encodeLine(_ event: AuditEvent) -> [UInt8] {
        var out: [UInt8] = []
        append(event, to: &out)
        return out
    }

    /// Appends the event's JSON line (newline included) to `buffer`, for batching many events per write.
    public static func append(_ event: AuditEvent, to buffer: inout [UInt8]) {
        var w = JSONWriter(capacity: 0)
        swap(&w.bytes, &buffer)
        w.raw("{\"time\":\"")
        UTCTimestamp(milliseconds: event.timeMilliseconds).write(into: &w.bytes, fractionDigits: 3)
        w.raw("\",\"user\":")
        if let u = event.user { w.string(redact(u)) } else { w.raw("null") }
        w.raw(",\"action\":")
        w.string(redact(event.action))
        w.raw(",\"resource\":")
        w.string(redact(event.resource))
        w.raw(",\"outcome\":")
        w.string(event.outcome.rawValue)
        if let r = event.reason {
            w.raw(",\"reason\":")
            w.string(redact(r))
        }
        if let a = event.remoteAddress {
            w.raw(",\"remote\":")
            w.string(redact(a))
        }
        w.raw("}\n")
        swap(&w.bytes, &buffer)
    }

    /// `s` with token-looking substrings replaced by `[redacted]` (see the type's documentation).
    public static func redact(_ s: String) -> String {
        let b = Array(s.utf8)
        // Fast path: most strings contain neither a long hex run nor "token=".
        var out: [UInt8] = []
        var changed = false
        var i = 0
        while i < b.count {
            if let end = tokenParameterValueEnd(b, at: i) {
                out.append(contentsOf: b[i..<(i + 6)])
                out.append(contentsOf: Array("[redacted]".utf8))
                i = end
                changed = true
                continue
            }
            if isHex(b[i]), i == 0 || !isHex(b[i - 1]) {
                var j = i
                while j < b.count, isHex(b[j]) { j += 1 }
                if j - i >= 32 {
                    out.append(contentsOf: Array("[redacted]".utf8))
                    changed = true
                } else {
                    out.append(contentsOf: b[i..<j])
                }
                i = j
                continue
            }
            out.append(b[i])
            i += 1
        }
        return changed ? String(decoding: out, as: UTF8.self) : s
    }

    /// If `b[i...]` starts with `token=` (any case), the index where its value ends.
    private static func tokenParameterValueEnd(_ b: [UInt8], at i: Int) -> Int? {
        let key = Array("token=".utf8)
        guard i + key.count <= b.count else { return nil }
        for k in 0..<key.count where b[i + k] | 0x20 != key[k] | 0x20 { return nil }
        var j = i + key.count
        while j < b.count, ![UInt8(ascii: "&"), UInt8(ascii: " "), UInt8(ascii: "#"), UInt8(ascii: ";"),
            UInt8(ascii: "\""), UInt8(ascii: "'")].contains(b[j])
        {
            j += 1
        }
        return j
    }

    private static func isHex(_ c: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(c)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(c)
    }
}
