import JupyterProtocol

/// A message encoded for each wire format at most once, on first use: a kernel message or a gateway status goes
/// to many connections and parked sessions, but is encoded once per format whatever their number.
package struct EncodedPerFormat<Entry> {
    private var legacy: Entry?
    private var v1: Entry?

    package init() {}

    /// The entry for `format`, calling `encode` only the first time that format is asked for.
    package mutating func value(for format: WebSocketSubprotocol, _ encode: (WebSocketSubprotocol) -> Entry) -> Entry {
        switch format {
        case .legacy:
            if let legacy { return legacy }
            let entry = encode(.legacy)
            legacy = entry
            return entry
        case .v1:
            if let v1 { return v1 }
            let entry = encode(.v1)
            v1 = entry
            return entry
        }
    }
}
