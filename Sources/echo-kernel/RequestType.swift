import JupyterProtocol

/// The message types the echo kernel acts on; anything else is `.unknown` (logged and ignored, as ipykernel).
enum RequestType: Equatable {
    case execute, kernelInfo, complete, inspect, history, isComplete, commInfo
    case commOpen, commMsg, commClose
    case shutdown, interrupt, debug
    case inputReply
    case unknown

    /// Classifies the `msg_type` token scanned from a header buffer (nil when the header has none).
    init(scanner: JSONScanner, token: JSONStringToken?) {
        guard let token else {
            self = .unknown
            return
        }
        func is_(_ name: StaticString) -> Bool { scanner.string(token, equals: name) }
        // Most traffic is execute / kernel_info / comm_msg: test those first.
        if is_("execute_request") { self = .execute }
        else if is_("kernel_info_request") { self = .kernelInfo }
        else if is_("comm_msg") { self = .commMsg }
        else if is_("complete_request") { self = .complete }
        else if is_("inspect_request") { self = .inspect }
        else if is_("history_request") { self = .history }
        else if is_("is_complete_request") { self = .isComplete }
        else if is_("comm_info_request") { self = .commInfo }
        else if is_("comm_open") { self = .commOpen }
        else if is_("comm_close") { self = .commClose }
        else if is_("shutdown_request") { self = .shutdown }
        else if is_("interrupt_request") { self = .interrupt }
        else if is_("debug_request") { self = .debug }
        else if is_("input_reply") { self = .inputReply }
        else { self = .unknown }
    }

    /// Whether ipykernel accepts this type on `channel` (interrupt and debug are control-only; stdin only
    /// carries input replies).
    func isAccepted(on channel: Channel) -> Bool {
        switch (self, channel) {
        case (.inputReply, .stdin): return true
        case (_, .stdin), (.inputReply, _): return false
        case (.interrupt, .control), (.debug, .control): return true
        case (.interrupt, _), (.debug, _): return false
        default: return true
        }
    }
}
