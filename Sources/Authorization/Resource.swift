/// What a request is about: a resource type plus whatever the decision needs to know about the instance.
///
/// Build one with the static constructors; each documents which HTTP endpoint it stands for.
public struct Resource: Sendable, Hashable {
    /// The resource type (also the key of role permissions).
    public var type: ResourceType
    /// The access record of the kernel concerned (a kernel, or the kernel behind a session), if any.
    public var kernel: KernelAccess?
    /// The kernelspec concerned: the one to start from, or the one being read.
    public var kernelspec: String?
    /// How many kernels the caller owns now; only used when starting a kernel.
    public var ownedKernelCount: Int
    /// True when the request changes who may access `kernel` (owner or admin only).
    public var isAccessControl: Bool

    /// Creates a resource; prefer the static constructors.
    public init(
        type: ResourceType, kernel: KernelAccess? = nil, kernelspec: String? = nil, ownedKernelCount: Int = 0,
        isAccessControl: Bool = false
    ) {
        self.type = type
        self.kernel = kernel
        self.kernelspec = kernelspec
        self.ownedKernelCount = ownedKernelCount
        self.isAccessControl = isAccessControl
    }

    /// `GET /api/kernels` (with `.read`; then filter items with `Policy.filterReadable`).
    public static let kernels = Resource(type: .kernels)
    /// One kernel: `GET` (.read), `DELETE` / `POST .../restart` (.write, owner), `POST .../interrupt` and
    /// the channels WebSocket for sending (.execute), the channels WebSocket for watching (.read).
    public static func kernel(_ access: KernelAccess) -> Resource { Resource(type: .kernels, kernel: access) }
    /// `POST /api/kernels` starting from `kernelspec` (.write). The gateway resolves a missing name to its
    /// default kernelspec before asking, and passes how many kernels the caller owns now.
    public static func newKernel(kernelspec: String, ownedKernelCount: Int) -> Resource {
        Resource(type: .kernels, kernelspec: kernelspec, ownedKernelCount: ownedKernelCount)
    }
    /// Reading or changing a kernel's owner and grants (any action; requires owner level).
    public static func kernelAccessControl(_ access: KernelAccess) -> Resource {
        Resource(type: .kernels, kernel: access, isAccessControl: true)
    }
    /// `GET /api/kernelspecs`.
    public static let kernelspecs = Resource(type: .kernelspecs)
    /// `GET /api/kernelspecs/{name}` and its resource files.
    public static func kernelspec(_ name: String) -> Resource { Resource(type: .kernelspecs, kernelspec: name) }
    /// `GET /api/sessions` (.read; filter items by their kernels).
    public static let sessions = Resource(type: .sessions)
    /// One session, through the kernel it runs: `GET` (.read), `PATCH`/`DELETE` (.write, owner).
    public static func session(kernel: KernelAccess) -> Resource { Resource(type: .sessions, kernel: kernel) }
    /// `POST /api/sessions` that starts a kernel from `kernelspec` (.write).
    public static func newSession(kernelspec: String, ownedKernelCount: Int) -> Resource {
        Resource(type: .sessions, kernelspec: kernelspec, ownedKernelCount: ownedKernelCount)
    }
    /// `/api`, `/api/status`, `/api/me`.
    public static let api = Resource(type: .api)
    /// The metrics endpoint.
    public static let metrics = Resource(type: .metrics)
}
