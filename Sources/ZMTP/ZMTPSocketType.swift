/// The client socket types we speak: the ones a Jupyter client uses towards a kernel.
public enum ZMTPSocketType: Sendable, Equatable, CaseIterable {
    /// Shell, control and stdin: frames go out and come in as they are.
    case dealer
    /// IOPub: subscribes to everything on every connection; receives only.
    case sub
    /// Heartbeat: an empty delimiter frame before each request, stripped from each reply. Relaxed: a new
    /// request may go out before the previous reply came; replies are delivered as they arrive.
    case req

    /// The `Socket-Type` property we announce in READY.
    public var name: String {
        switch self {
        case .dealer: "DEALER"
        case .sub: "SUB"
        case .req: "REQ"
        }
    }

    /// Whether we announce an `Identity` property (the ROUTER on the other side routes replies by it).
    var sendsIdentity: Bool { self != .sub }

    /// The peer socket types ZMTP 3.0 allows us to talk to.
    public var compatiblePeers: [String] {
        switch self {
        case .dealer: ["ROUTER"]
        case .sub: ["PUB", "XPUB"]
        case .req: ["REP", "ROUTER"]
        }
    }

    /// Whether a peer announcing `socketType` (the raw READY value) may talk to us. Exact, case-sensitive match
    /// as the spec writes the names.
    public func accepts(peer socketType: some Collection<UInt8>) -> Bool {
        compatiblePeers.contains { $0.utf8.elementsEqual(socketType) }
    }
}
