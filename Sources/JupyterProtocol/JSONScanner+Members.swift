extension JSONScanner {
    /// The decoded value of the top-level string member `key` of the object in the window, or nil when the
    /// member is absent, not a string, or the document is malformed. Allocates only for the returned String.
    public func stringMember(_ key: StaticString) -> String? {
        var found: JSONStringToken?
        try? forEachMember { (name, value) throws(ProtocolError) in
            guard found == nil, string(name, equals: key), bytes[value.lowerBound] == UInt8(ascii: "\"") else { return }
            found = try scanString(at: value.lowerBound)
        }
        guard let found else { return nil }
        return try? decodeString(found)
    }

    /// The range of the top-level member `key`'s value, or nil when absent or the document is malformed.
    public func memberRange(_ key: StaticString) -> Range<Int>? {
        var found: Range<Int>?
        try? forEachMember { (name, value) throws(ProtocolError) in
            if found == nil && string(name, equals: key) { found = value }
        }
        return found
    }
}
