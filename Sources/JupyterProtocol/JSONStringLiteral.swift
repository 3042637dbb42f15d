import Basics

/// A string already escaped and quoted as a JSON token, built once and spliced many times
/// (e.g. the authenticated username the gateway stamps into every forwarded header).
public struct JSONStringLiteral: Sendable, Hashable {
    /// The quoted token bytes, e.g. `"alice"` including the quotes.
    public let token: [UInt8]

    /// Escapes and quotes `value` (see `JSONEscaper`).
    public init(_ value: String) {
        token = JSONEscaper.quoted(value)
    }
}
