import Foundation
import JupyterProtocol

/// The `execute_request`'s four dicts at stable addresses, for the piece benchmarks (sign, rewrite, scan).
final class RequestParts {
    let header: StableBytes
    /// The same header without a `username` member (the rewriter then inserts one).
    let headerWithoutUsername: StableBytes
    let parentHeader: StableBytes
    let metadata: StableBytes
    let content: StableBytes

    init() throws {
        header = StableBytes(BenchMessages.requestHeader)
        let stripped = BenchMessages.requestHeader.replacingOccurrences(of: "\"username\":\"alice\",", with: "")
        guard stripped != BenchMessages.requestHeader else { throw BenchError("request header has no username to strip") }
        headerWithoutUsername = StableBytes(stripped)
        parentHeader = StableBytes(BenchMessages.requestParentHeader)
        metadata = StableBytes(BenchMessages.requestMetadata)
        content = StableBytes(BenchMessages.requestContent)
    }

    /// Borrowed parts over the four dicts.
    var parts: MessageParts {
        MessageParts(header: header.bytes, parentHeader: parentHeader.bytes, metadata: metadata.bytes, content: content.bytes)
    }

    /// Bytes covered by the signature.
    var signedBytes: Int { header.bytes.count + parentHeader.bytes.count + metadata.bytes.count + content.bytes.count }
}
