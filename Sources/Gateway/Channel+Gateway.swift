import JupyterProtocol

/// Inside the gateway "Channel" is the wire channel; the authorization module's channel type is always written
/// `Authorization.Channel`.
typealias Channel = JupyterProtocol.Channel
