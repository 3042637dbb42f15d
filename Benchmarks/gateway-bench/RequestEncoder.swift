import Basics
import JupyterProtocol

/// Builds shell requests in either wire format into one reusable buffer, without a JSON library.
///
/// `msg_id` is `<prefix><seq>` where the prefix is unique per client (`<session-prefix>-<client>-`), so replies
/// and iopub messages are matched by parsing the parent's id back (`RequestID`). The header date is fixed at
/// creation: servers and kernels only copy it.
struct RequestEncoder {
    let prefix: [UInt8]
    let session: String
    let wire: WireProtocol
    private var buffer: [UInt8] = []
    private var header: [UInt8] = []
    private let date: [UInt8]

    init(prefix: String, session: String, wire: WireProtocol) {
        self.prefix = Array(prefix.utf8)
        self.session = session
        self.wire = wire
        var d: [UInt8] = []
        UTCTimestamp.now().write(into: &d)
        date = d
    }

    /// Encodes a request `msgType` with `content` (a JSON object) and sequence number `seq`; calls `body` with
    /// the frame bytes and whether it is a text frame. The bytes are valid only inside `body`.
    mutating func encode<R>(msgType: StaticString, content: [UInt8], seq: UInt64,
                            _ body: (UnsafeRawBufferPointer, Bool) -> R) -> R {
        header.removeAll(keepingCapacity: true)
        header.append(static: "{\"msg_id\":\"")
        header.append(contentsOf: prefix)
        appendDecimal(seq, to: &header)
        header.append(static: "\",\"msg_type\":\"")
        header.append(contentsOf: UnsafeRawBufferPointer(start: msgType.utf8Start, count: msgType.utf8CodeUnitCount))
        header.append(static: "\",\"username\":\"bench\",\"session\":\"")
        header.append(contentsOf: session.utf8)
        header.append(static: "\",\"date\":\"")
        header.append(contentsOf: date)
        header.append(static: "\",\"version\":\"5.3\"}")
        buffer.removeAll(keepingCapacity: true)
        switch wire {
        case .json:
            buffer.append(static: "{\"header\":")
            buffer.append(contentsOf: header)
            buffer.append(static: ",\"parent_header\":{},\"metadata\":{},\"content\":")
            buffer.append(contentsOf: content)
            buffer.append(static: ",\"buffers\":[],\"channel\":\"shell\"}")
            return buffer.withUnsafeBytes { body($0, true) }
        case .v1:
            let empty: StaticString = "{}"
            let emptyBytes = UnsafeRawBufferPointer(start: empty.utf8Start, count: 2)
            return header.withUnsafeBytes { h in
                content.withUnsafeBytes { c in
                    let parts = MessageParts(header: h, parentHeader: emptyBytes, metadata: emptyBytes, content: c, buffers: [])
                    V1WebSocketCodec.encode(channel: .shell, parts: parts, into: &buffer)
                    return buffer.withUnsafeBytes { body($0, false) }
                }
            }
        }
    }

    /// The content of a `kernel_info_request`.
    static let kernelInfoContent: [UInt8] = Array("{}".utf8)

    /// The content of an `execute_request` running `code`.
    static func executeContent(code: String) -> [UInt8] {
        var out: [UInt8] = []
        out.append(static: "{\"code\":")
        JSONEscaper.appendQuoted(code, to: &out)
        out.append(static: ",\"silent\":false,\"store_history\":true,\"user_expressions\":{},\"allow_stdin\":false,\"stop_on_error\":true}")
        return out
    }
}

@inline(__always)
func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
    if value == 0 {
        out.append(UInt8(ascii: "0"))
        return
    }
    var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
    var count = 0
    var v = value
    withUnsafeMutableBytes(of: &digits) { raw in
        while v > 0 {
            raw[count] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
            count += 1
        }
        for i in stride(from: count - 1, through: 0, by: -1) { out.append(raw[i]) }
    }
}

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func append(static text: StaticString) {
        append(contentsOf: UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}
