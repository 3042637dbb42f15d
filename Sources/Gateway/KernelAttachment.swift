import KernelRuntime

/// What the gateway keeps per kernel, attached to the kernel's entry in the manager's one table: who may use the
/// kernel and its channel hub. Made by `GatewayResponder.launch` on the ready kernel before anyone can find it;
/// retired by `Gateway.retire` when the manager removes the entry.
struct KernelAttachment: Sendable {
    let access: KernelAccessBox
    let hub: ChannelHub
}

/// The gateway's kernel manager: every running kernel with its `KernelAttachment`.
typealias GatewayKernelManager = KernelManager<KernelAttachment>

/// One running kernel as the gateway sees it.
typealias KernelRecord = KernelEntry<KernelAttachment>

extension KernelEntry where Attachment == KernelAttachment {
    /// Who may use the kernel.
    var access: KernelAccessBox { attachment.access }
    /// The kernel's channel hub.
    var hub: ChannelHub { attachment.hub }
}
