import JupyterProtocol

/// Receives what a kernel sends. Called synchronously on the kernel's loop thread from inside the `Kernel`
/// actor, so an implementation that lives on the same loop (the gateway's per-kernel channel hub) handles each
/// message without a hop. Implementations must not block.
public protocol KernelMessageSink: AnyObject, Sendable {
    /// A message whose signature verified, on shell, control, stdin or iopub, that the gateway did not request
    /// itself. `frames[layout.header]` etc. are the raw parts; the arrays may be reused after the call returns.
    /// `header` is the scan of `frames[layout.header]` (ranges relative to that frame); it always has `msg_id` and
    /// `msg_type`.
    func kernel(_ kernelID: String, didReceive channel: Channel, frames: [[UInt8]], layout: ZMQFrameLayout,
                header: HeaderFields)

    /// The lifecycle state changed. For `.restarting` and `.dead` the sink should tell clients with an iopub
    /// `status` message (the kernel process cannot); `.idle`/`.busy` come from the kernel's own status messages.
    /// `reason` says why the kernel is restarting or dead after a failure (e.g. "out of memory: limit 2 GiB
    /// (kernel killed by signal 9)"); nil for requested restarts, shutdowns and the other states.
    func kernel(_ kernelID: String, didChangeState state: KernelLifecycle.ExecutionState, reason: String?)
}
