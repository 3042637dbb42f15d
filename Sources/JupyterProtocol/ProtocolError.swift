/// The single error type of the JupyterProtocol module.
///
/// Every decoder, scanner and codec in this module throws `ProtocolError` (with typed throws, so throwing
/// never boxes an existential). `code` is meant for programs (metrics, close codes); `message` names what
/// was wrong for logs and for the client ("header is not an object", "offset 3 out of range").
/// Creating an error builds its message string, so errors are for the failure path only.
public struct ProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added; switch with a `default`.
    public enum Code: Sendable, Hashable {
        /// The input ended in the middle of a value or a frame.
        case truncated
        /// A byte that cannot start or continue the expected JSON construct.
        case unexpectedCharacter
        /// A backslash escape that JSON does not allow, or a bad `\u` escape with its four hex digits (incl. unpaired surrogates).
        case invalidEscape
        /// A raw control character (below U+0020) inside a JSON string.
        case controlCharacter
        /// Bytes that are not well-formed UTF-8.
        case invalidUTF8
        /// A number that does not follow the JSON grammar.
        case invalidNumber
        /// A misspelled `true`, `false` or `null`.
        case invalidLiteral
        /// Objects/arrays nested deeper than `JSONScanner.maxDepth`.
        case depthLimitExceeded
        /// Non-whitespace bytes after the end of the JSON value.
        case trailingData
        /// A value had the wrong JSON type (e.g. the header is not an object).
        case wrongType
        /// A key that must appear at most once appeared twice.
        case duplicateKey
        /// A required field or part is absent.
        case missingField
        /// A channel name that is not shell, iopub, stdin, control or hb.
        case unknownChannel
        /// A binary frame's offset table is malformed (bad count, offsets out of range or decreasing).
        case invalidOffsetTable
        /// A ZeroMQ frame list without the `<IDS|MSG>` delimiter or with fewer than five frames after it.
        case invalidFrameList
        /// A message too large to encode in the requested format (e.g. over 4 GiB for u32 offsets).
        case tooLarge
        /// OpenSSL reported a failure.
        case crypto
    }

    /// The kind of failure.
    public var code: Code
    /// A human readable description naming what was wrong.
    public var message: String
    /// The byte offset in the input where the problem was found, when known.
    public var offset: Int?

    /// Creates an error; `offset` is the byte position of the problem, if known.
    public init(_ code: Code, _ message: String, offset: Int? = nil) {
        self.code = code
        self.message = message
        self.offset = offset
    }

    public var description: String {
        if let offset { return "\(message) (at byte \(offset))" }
        return message
    }
}
