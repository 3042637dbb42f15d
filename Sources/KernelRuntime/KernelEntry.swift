/// One running kernel in a `KernelManager`'s table, with what its user attached to it (the gateway's channel hub
/// and access grants). The attachment is made once, before the entry becomes visible, and lives as long as the
/// entry.
public struct KernelEntry<Attachment: Sendable>: Sendable {
    /// The kernel.
    public let kernel: Kernel
    /// What `KernelManager.startKernel`'s `attach` made for this kernel.
    public let attachment: Attachment

    /// Makes an entry (the manager does, once the kernel is ready).
    public init(kernel: Kernel, attachment: Attachment) {
        self.kernel = kernel
        self.attachment = attachment
    }

    /// The kernel's id.
    public var id: String { kernel.id }

    /// Who started the kernel.
    public var owner: String { kernel.owner }
}
