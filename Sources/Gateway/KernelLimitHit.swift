/// Which kernel limit refused a start. A 403 carrying one names it in its JSON body next to `message` and `reason`:
/// `"limit"` (the kind's raw value), `"max_kernels"` (the limit) and, for the admins' reserve,
/// `"reserved_kernels"` (docs/authorization.md, "Kernel limits").
struct KernelLimitHit: Equatable, Sendable {
    enum Kind: String, Sendable {
        /// The caller owns as many kernels as their roles allow (`max_kernels`); `maxKernels` is that number.
        case perUser = "per_user"
        /// The gateway runs `--max-kernels` kernels; `maxKernels` is that number.
        case gateway
        /// Only the slots of `--max-kernels` kept for admins are left, and the caller is not one; `maxKernels` is
        /// the gateway-wide limit and `reservedKernels` the reserve.
        case adminReserve = "admin_reserve"
    }

    let kind: Kind
    let maxKernels: Int
    /// Set for `adminReserve` only.
    let reservedKernels: Int?

    init(_ kind: Kind, maxKernels: Int, reservedKernels: Int? = nil) {
        self.kind = kind
        self.maxKernels = maxKernels
        self.reservedKernels = reservedKernels
    }
}
