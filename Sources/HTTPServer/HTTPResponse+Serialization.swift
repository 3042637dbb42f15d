/// Writing a response in HTTP/1.1 wire format.
extension HTTPResponse {
    /// Appends the status line, headers and body to `buffer`.
    ///
    /// - `keepAlive`: writes `Connection: keep-alive` or `Connection: close`; the caller must close
    ///   after writing when false.
    /// - `isHeadResponse`: omit the body but keep its `Content-Length` (answer to a HEAD request).
    ///
    /// For a 101 response the headers are written as given (the upgrade response owns `Connection`
    /// and has no body). Otherwise the serializer writes `Content-Length` itself (not for 1xx/204)
    /// and drops caller-set `Content-Length`, `Connection` and `Transfer-Encoding`, so a handler can
    /// never produce a framing mismatch. Fields with a name that is not an RFC 9110 token are
    /// dropped, and CR, LF and NUL in values are replaced by spaces, so header text that came from
    /// a client cannot split the response.
    public func serialize(into buffer: inout [UInt8], keepAlive: Bool, isHeadResponse: Bool = false) {
        buffer.reserveCapacity(buffer.count + 128 + body.count)
        buffer.append(contentsOf: "HTTP/1.1 ".utf8)
        buffer.append(contentsOf: String(status.code).utf8)
        buffer.append(UInt8(ascii: " "))
        Self.appendSanitized(status.reasonPhrase, to: &buffer)
        buffer.append(contentsOf: "\r\n".utf8)

        let isUpgrade = status.code == 101
        for field in headers {
            guard Self.isToken(field.name) else { continue }
            if !isUpgrade {
                if HTTPHeaders.namesEqual(field.name, "Content-Length")
                    || HTTPHeaders.namesEqual(field.name, "Connection")
                    || HTTPHeaders.namesEqual(field.name, "Transfer-Encoding") { continue }
            }
            buffer.append(contentsOf: field.name.utf8)
            buffer.append(contentsOf: ": ".utf8)
            Self.appendSanitized(field.value, to: &buffer)
            buffer.append(contentsOf: "\r\n".utf8)
        }
        if !isUpgrade {
            let sendsBody = status.allowsBody
            if status.code >= 200 && status.code != 204 {
                buffer.append(contentsOf: "Content-Length: ".utf8)
                buffer.append(contentsOf: String(sendsBody ? body.count : 0).utf8)
                buffer.append(contentsOf: "\r\n".utf8)
            }
            buffer.append(contentsOf: (keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n").utf8)
            buffer.append(contentsOf: "\r\n".utf8)
            if sendsBody && !isHeadResponse { buffer.append(contentsOf: body) }
        } else {
            buffer.append(contentsOf: "\r\n".utf8)
        }
    }

    /// The serialized response as a new array (see `serialize(into:keepAlive:isHeadResponse:)`).
    public func serialized(keepAlive: Bool, isHeadResponse: Bool = false) -> [UInt8] {
        var buffer: [UInt8] = []
        serialize(into: &buffer, keepAlive: keepAlive, isHeadResponse: isHeadResponse)
        return buffer
    }

    private static func appendSanitized(_ text: String, to buffer: inout [UInt8]) {
        for byte in text.utf8 {
            buffer.append(byte == 0x0D || byte == 0x0A || byte == 0x00 ? UInt8(ascii: " ") : byte)
        }
    }

    /// RFC 9110 `token`: one or more tchar.
    private static func isToken(_ name: String) -> Bool {
        guard !name.isEmpty else { return false }
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"):
                continue
            default:
                if !"!#$%&'*+-.^_`|~".utf8.contains(byte) { return false }
            }
        }
        return true
    }
}
