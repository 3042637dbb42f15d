/// The kinds of resource the gateway protects, spelled as in Jupyter Server's `/api/me?permissions=`.
///
/// `api` covers `/api`, `/api/status` and `/api/me`. `metrics` is kept separate from `api` because it
/// reveals activity of every user; by default only `admin` may read it (grant it to a custom role, for
/// example a monitoring role, in the policy file).
public enum ResourceType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case kernels
    case kernelspecs
    case sessions
    case api
    case metrics

    public var description: String { rawValue }
}
