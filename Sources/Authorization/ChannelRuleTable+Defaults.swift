extension ChannelRuleTable {
    /// Requests that reveal nothing a watcher of the kernel's broadcasts does not already see: the kernel's
    /// own description, whether a given piece of code is complete (decided on that code alone), and which
    /// comms are open (ids and target names, which widget frontends need to attach).
    public static let readMessageTypes: [String] = [
        "kernel_info_request", "is_complete_request", "comm_info_request",
    ]

    /// Requests a client sends to a kernel (Jupyter messaging 5.4, plus kernel extensions in use) that change
    /// the kernel or reveal its state beyond what it broadcasts: values (`inspect_request`), names and keys
    /// (`complete_request`), code typed in every session (`history_request`), resource figures
    /// (`usage_request`), ports (`connect_request`), subshells, the debugger, interrupt and shutdown.
    public static let executeMessageTypes: [String] = [
        // shell (ipykernel also serves every one of these on control)
        "execute_request", "inspect_request", "complete_request", "history_request", "connect_request",
        // comms, stdin
        "comm_open", "comm_msg", "comm_close", "input_reply",
        // control (ipykernel also serves shutdown_request and interrupt_request on shell)
        "interrupt_request", "shutdown_request", "debug_request", "usage_request",
        "create_subshell_request", "delete_subshell_request", "list_subshell_request",
        // older ipykernel and ipyparallel: run code, abort queued requests, clear the namespace
        "apply_request", "abort_request", "clear_request",
    ]

    /// Messages only kernels send (replies, iopub broadcasts, `input_request`). Kernels do not accept them
    /// from clients; they are listed at `execute` so that lowering `unknown_message_level` does not lower
    /// them too.
    public static let kernelMessageTypes: [String] = [
        "execute_reply", "inspect_reply", "complete_reply", "history_reply", "is_complete_reply",
        "connect_reply", "comm_info_reply", "kernel_info_reply", "shutdown_reply", "interrupt_reply",
        "debug_reply", "usage_reply", "create_subshell_reply", "delete_subshell_reply", "list_subshell_reply",
        "apply_reply", "abort_reply", "clear_reply", "input_request",
        "status", "stream", "display_data", "update_display_data", "execute_input", "execute_result", "error",
        "clear_output", "debug_event", "iopub_welcome",
    ]

    /// The defaults described in docs/authorization.md: `readMessageTypes` at `read`, every other message
    /// type of the protocol at `execute`.
    public static let defaultRules: [Rule] =
        readMessageTypes.map { Rule(msgType: $0, level: .read) }
        + (executeMessageTypes + kernelMessageTypes).map { Rule(msgType: $0, level: .execute) }
}
