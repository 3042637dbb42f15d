/// One complete HTTP/1.x request as produced by `HTTPRequestParser`.
///
/// A plain value: safe to send across threads. The body is fully buffered (bounded by the parser's
/// `maxBodyBytes`).
public struct HTTPRequest: Sendable, Equatable {
    /// One decoded `name=value` pair of the query string.
    public struct QueryItem: Sendable, Equatable {
        /// Percent-decoded name (`+` decoded as space).
        public var name: String
        /// Percent-decoded value (`+` decoded as space); empty when the item had no `=`.
        public var value: String

        /// Creates a query item.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The request method.
    public var method: HTTPMethod
    /// The request target exactly as sent (origin-form `/a/b?c`, or absolute-form).
    public var target: String
    /// The path part of the target, still percent-encoded (e.g. `/api/kernels/a%20b`).
    public var path: String
    /// Percent-decoded path segments after the leading `/`. `/a/b%2Fc/` gives `["a", "b/c", ""]`;
    /// `/` gives `[""]`. Decoding happens per segment, so an encoded slash never splits a segment.
    public var pathComponents: [String]
    /// The raw (still encoded) query string without `?`, or nil when the target had none.
    public var rawQuery: String?
    /// Decoded query items in order, repeats kept.
    public var queryItems: [QueryItem]
    /// Header fields (trailers of a chunked body are not included).
    public var headers: HTTPHeaders
    /// The complete body (de-chunked), empty when there was none.
    public var body: [UInt8]
    /// The protocol version from the request line.
    public var version: HTTPVersion
    /// Whether the connection may carry another request after this one (http_should_keep_alive).
    public var keepAlive: Bool
    /// Whether http_parser saw an upgrade request (`Upgrade` + `Connection: upgrade`, or CONNECT).
    public var isUpgrade: Bool

    /// Creates a request value; mainly for tests and for code that synthesizes requests.
    public init(
        method: HTTPMethod, target: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
        version: HTTPVersion = .http1_1, keepAlive: Bool = true, isUpgrade: Bool = false
    ) throws(HTTPParseError) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.version = version
        self.keepAlive = keepAlive
        self.isUpgrade = isUpgrade
        let split = Self.splitOriginForm(target)
        self.path = split.path
        self.rawQuery = split.query
        self.pathComponents = try PercentDecoding.pathComponents(of: split.path)
        self.queryItems = try split.query.map { q throws(HTTPParseError) in try PercentDecoding.queryItems(of: q) } ?? []
    }

    /// Memberwise initializer used by the parser once the URL pieces are already decoded.
    init(
        method: HTTPMethod, target: String, path: String, pathComponents: [String], rawQuery: String?,
        queryItems: [QueryItem], headers: HTTPHeaders, body: [UInt8], version: HTTPVersion,
        keepAlive: Bool, isUpgrade: Bool
    ) {
        self.method = method
        self.target = target
        self.path = path
        self.pathComponents = pathComponents
        self.rawQuery = rawQuery
        self.queryItems = queryItems
        self.headers = headers
        self.body = body
        self.version = version
        self.keepAlive = keepAlive
        self.isUpgrade = isUpgrade
    }

    /// The first decoded value of query parameter `name` (case-sensitive), or nil.
    public func queryValue(_ name: String) -> String? {
        queryItems.first { $0.name == name }?.value
    }

    /// All decoded values of query parameter `name` (case-sensitive), in order.
    public func queryValues(_ name: String) -> [String] {
        queryItems.compactMap { $0.name == name ? $0.value : nil }
    }

    /// Splits an origin-form target at the first `?` (fragments are not sent by clients; a `#` is
    /// left in place). Only for the public initializer; the parser uses http_parser_parse_url.
    private static func splitOriginForm(_ target: String) -> (path: String, query: String?) {
        guard let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return (target, nil) }
        let path = String(target[..<mark])
        let query = String(target[target.utf8.index(after: mark)...])
        return (path, query)
    }
}
