/// One kernel start counted in a `KernelManager`'s table, from `KernelManager.beginStart(owner:)` until the kernel
/// is in the table or the start ends (`KernelManager.endStart(_:)`, or a failed `startKernel`).
///
/// While it is counted it adds one to its owner's kernels, so concurrent start requests cannot all pass a per-user
/// kernel limit; a running kernel and its own start are never counted together.
public struct KernelStart: Sendable {
    /// Who the kernel is for.
    public let owner: String
    /// The owner's kernels in the table plus their other starts in flight when this start began (this one not
    /// included): what a per-user limit compares against.
    public let ownedKernelCount: Int
    /// Whether the start may take the slots of the gateway-wide limit kept for admins
    /// (`KernelManagerConfiguration.reservedKernels`).
    public let mayUseReserve: Bool
    /// Identifies the start in its table.
    let number: UInt64
}
