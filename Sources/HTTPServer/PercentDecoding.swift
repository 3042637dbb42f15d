/// Percent-decoding of request paths and query strings (RFC 3986 section 2.1, and the
/// `application/x-www-form-urlencoded` `+` rule for queries, which Jupyter clients rely on).
///
/// Strict: a `%` not followed by two hex digits, or decoded bytes that are not valid UTF-8, are a
/// `badRequest` error rather than being passed through, so handlers never see ambiguous names.
enum PercentDecoding {
    /// Decoded path segments after the leading `/` (see `HTTPRequest.pathComponents`).
    static func pathComponents(of path: String) throws(HTTPParseError) -> [String] {
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "/") { bytes.removeFirst() }
        var components: [String] = []
        for segment in bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            components.append(try decode(segment, plusIsSpace: false))
        }
        return components
    }

    /// Decoded `name=value` items of a raw query string; empty items (`a=1&&b=2`) are skipped.
    static func queryItems(of query: String) throws(HTTPParseError) -> [HTTPRequest.QueryItem] {
        var items: [HTTPRequest.QueryItem] = []
        for item in Array(query.utf8).split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            if let equals = item.firstIndex(of: UInt8(ascii: "=")) {
                let name = try decode(item[item.startIndex..<equals], plusIsSpace: true)
                let value = try decode(item[(equals + 1)...], plusIsSpace: true)
                items.append(HTTPRequest.QueryItem(name: name, value: value))
            } else {
                items.append(HTTPRequest.QueryItem(name: try decode(item, plusIsSpace: true), value: ""))
            }
        }
        return items
    }

    /// Decodes `%XX` escapes (and `+` when `plusIsSpace`); the result must be valid UTF-8.
    static func decode(_ bytes: ArraySlice<UInt8>, plusIsSpace: Bool) throws(HTTPParseError) -> String {
        var needsWork = false
        for byte in bytes where byte == UInt8(ascii: "%") || byte == UInt8(ascii: "+") || byte >= 0x80 {
            needsWork = true
            break
        }
        if !needsWork { return String(decoding: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex,
                      let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
                else {
                    throw HTTPParseError(.badRequest, detail: "invalid percent-encoding")
                }
                out.append(high << 4 | low)
                index += 3
            } else if byte == UInt8(ascii: "+") && plusIsSpace {
                out.append(UInt8(ascii: " "))
                index += 1
            } else {
                out.append(byte)
                index += 1
            }
        }
        guard UTF8Validator.isValid(out) else {
            throw HTTPParseError(.badRequest, detail: "percent-decoded text is not valid UTF-8")
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
