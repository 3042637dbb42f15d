/// The answer to "may this caller do this": allowed, or denied with a reason.
public enum Decision: Sendable, Hashable, CustomStringConvertible {
    case allowed
    case denied(Denial)

    /// Why a request was refused, in words safe to show the caller (no secrets, no other users' data).
    public struct Denial: Sendable, Hashable {
        /// Machine-readable category; new codes may be added.
        public struct Code: Sendable, Hashable, CustomStringConvertible {
            public let name: String
            /// The caller's roles do not include the action on the resource type.
            public static let actionNotPermitted = Code(name: "action_not_permitted")
            /// The caller may not even see the resource (answer 404, as if it did not exist).
            public static let notVisible = Code(name: "not_visible")
            /// The caller sees the kernel but has too low a level for this action.
            public static let insufficientKernelAccess = Code(name: "insufficient_kernel_access")
            /// Starting from this kernelspec is not allowed for the caller's roles.
            public static let kernelspecNotAllowed = Code(name: "kernelspec_not_allowed")
            /// The caller already owns as many kernels as their roles allow.
            public static let kernelLimitReached = Code(name: "kernel_limit_reached")
            public var description: String { name }
        }

        public var code: Code
        /// One sentence naming the action and the resource.
        public var reason: String
        /// True when the caller may not read the resource at all, so its existence must not leak.
        public var hidden: Bool
        /// For `kernelLimitReached`: the caller's per-user limit (what their most generous role allows).
        public var kernelLimit: Int?

        /// Creates a denial.
        public init(code: Code, reason: String, hidden: Bool = false, kernelLimit: Int? = nil) {
            self.code = code
            self.reason = reason
            self.hidden = hidden
            self.kernelLimit = kernelLimit
        }

        /// The HTTP status to answer with: 404 when hidden, else 403.
        public var httpStatus: Int { hidden ? 404 : 403 }
    }

    /// Whether the request may proceed.
    public var isAllowed: Bool { if case .allowed = self { true } else { false } }

    /// The denial, if denied.
    public var denial: Denial? { if case .denied(let d) = self { d } else { nil } }

    public var description: String {
        switch self {
        case .allowed: "allowed"
        case .denied(let d): "denied(\(d.code)\(d.hidden ? ", hidden" : ""): \(d.reason)"
        }
    }
}
