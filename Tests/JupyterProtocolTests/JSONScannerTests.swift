import Foundation
import Testing
@testable import JupyterProtocol

@Suite struct JSONScannerTests {
    func validate(_ text: String) throws(ProtocolError) -> Range<Int> {
        try validate(utf8(text))
    }

    func validate(_ bytes: [UInt8]) throws(ProtocolError) -> Range<Int> {
        try bytes.withBytes { (raw) throws(ProtocolError) in try JSONScanner(raw).validateDocument() }
    }

    func code(_ bytes: [UInt8]) -> ProtocolError.Code? {
        do {
            _ = try validate(bytes)
            return nil
        } catch {
            return error.code
        }
    }

    @Test(arguments: [
        "{}", "[]", " \t\r\n{ } \n", "0", "-0", "1", "-12", "3.25", "-0.5e-3", "1E+9", "2e10", "1.0E-0",
        "true", "false", "null", "\"\"", "\"x\"", "[1,2,[3,[4,{}]]]", "{\"a\":{\"b\":[true,false,null]}}",
        "{ \"a\" : 1 , \"b\" : [ ] , \"c\" : { } }", "\"\\u0000\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
        "\"\\ud83d\\ude00\"", "\"é✓😀\"", "\"\u{7f}\"", "[1e5,-1.5E-5,0.0,123456789012345678901234567890]",
    ])
    func acceptsValidJSON(_ text: String) throws {
        let range = try validate(text)
        let bytes = utf8(text)
        // The reported range is the value without surrounding whitespace, and Foundation agrees it is JSON.
        #expect(range.lowerBound == bytes.firstIndex { ![0x20, 0x09, 0x0A, 0x0D].contains($0) })
        #expect(foundationJSON(bytes) != nil)
    }

    @Test(arguments: [
        ("", ProtocolError.Code.truncated), ("   ", .truncated), ("{", .truncated), ("[", .truncated),
        ("{\"a\"", .truncated), ("{\"a\":", .truncated), ("{\"a\":1", .truncated), ("[1,", .truncated),
        ("{\"a\":1,}", .unexpectedCharacter), ("[1,]", .unexpectedCharacter), ("{,}", .unexpectedCharacter),
        ("{a:1}", .unexpectedCharacter), ("{\"a\" 1}", .unexpectedCharacter), ("[1 2]", .unexpectedCharacter),
        ("{\"a\":1 \"b\":2}", .unexpectedCharacter), ("{} {}", .trailingData), ("1 2", .trailingData),
        ("01", .trailingData), ("-", .truncated), ("-a", .invalidNumber), ("1.", .invalidNumber), (".5", .unexpectedCharacter),
        ("1e", .invalidNumber), ("1e+", .invalidNumber), ("+1", .unexpectedCharacter), ("NaN", .unexpectedCharacter),
        ("Infinity", .unexpectedCharacter), ("-Infinity", .invalidNumber), ("tru", .truncated), ("trux", .invalidLiteral),
        ("nul", .truncated), ("nulL", .invalidLiteral), ("fals", .truncated), ("\"abc", .truncated),
        ("\"\\x\"", .invalidEscape), ("\"\\u12\"", .invalidEscape), ("\"\\u12G4\"", .invalidEscape),
        ("\"\\ud800\"", .invalidEscape), ("\"\\udc00\"", .invalidEscape), ("\"\\ud800\\u0041\"", .invalidEscape),
        ("\"\\ud800x\"", .invalidEscape), ("\"\\", .truncated), ("\"a\tb\"", .controlCharacter),
        ("\"a\nb\"", .controlCharacter), ("'a'", .unexpectedCharacter), ("{\"a\":1}}", .trailingData),
    ])
    func rejectsInvalidJSON(_ text: String, _ expected: ProtocolError.Code) {
        #expect(code(utf8(text)) == expected, "\(text)")
    }

    @Test(arguments: [
        [0x22, 0xC0, 0x80, 0x22], [0x22, 0xC1, 0xBF, 0x22], [0x22, 0xE0, 0x80, 0x80, 0x22],  // overlongs
        [0x22, 0xED, 0xA0, 0x80, 0x22],  // encoded surrogate U+D800
        [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22],  // above U+10FFFF
        [0x22, 0x80, 0x22], [0x22, 0xBF, 0x22],  // lone continuation bytes
        [0x22, 0xC3, 0x22], [0x22, 0xE2, 0x9C, 0x22], [0x22, 0xF0, 0x9F, 0x98, 0x22],  // truncated sequences
        [0x22, 0xFF, 0x22], [0x22, 0xC3, 0x28, 0x22],
    ] as [[UInt8]])
    func rejectsMalformedUTF8(_ bytes: [UInt8]) {
        #expect(code(bytes) == .invalidUTF8)
    }

    @Test func acceptsBoundaryUTF8() throws {
        for scalar: UInt32 in [0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFD, 0xFFFF, 0x10000, 0x10FFFF] {
            var bytes: [UInt8] = [0x22]
            appendUTF8(scalar, to: &bytes)
            bytes.append(0x22)
            _ = try validate(bytes)
        }
    }

    @Test func depthLimit() throws {
        let ok = String(repeating: "[", count: JSONScanner.maxDepth) + String(repeating: "]", count: JSONScanner.maxDepth)
        _ = try validate(ok)
        let tooDeep = String(repeating: "[", count: JSONScanner.maxDepth + 1) + String(repeating: "]", count: JSONScanner.maxDepth + 1)
        #expect(code(utf8(tooDeep)) == .depthLimitExceeded)
        let objects = String(repeating: "{\"a\":", count: JSONScanner.maxDepth + 1) + "1" + String(repeating: "}", count: JSONScanner.maxDepth + 1)
        #expect(code(utf8(objects)) == .depthLimitExceeded)
        // Far beyond the limit must still be an error, not a stack overflow.
        #expect(code(Array(repeating: UInt8(ascii: "["), count: 100_000)) == .depthLimitExceeded)
    }

    @Test func stringFixturesAgreeWithPython() throws {
        for item in Fixtures.shared.strings {
            let raw = b64(item.raw)
            let result: Result<[UInt8], ProtocolError> = raw.withUnsafeBytes { buffer in
                Result { () throws(ProtocolError) -> [UInt8] in
                    let scanner = JSONScanner(buffer)
                    let token = try scanner.scanString(at: 0)
                    try scanner.expectEnd(after: token.range.upperBound)
                    var out: [UInt8] = []
                    try scanner.unescape(token, into: &out)
                    #expect(Array(try scanner.decodeString(token).utf8) == out)
                    return out
                }
            }
            let text = String(decoding: raw, as: UTF8.self)
            if let decoded = item.decoded {
                #expect(try result.get() == b64(decoded), "\(text)")
            } else {
                #expect(throws: ProtocolError.self, "\(text)") { try result.get() }
            }
        }
    }

    @Test func forEachMemberReportsKeysAndExactValueRanges() throws {
        let text = utf8(" { \"a\" : [1, 2] ,\"b\":\"x\\\"y\", \"c\" :{\"d\":null}, \"e\":-1.5e3 } ")
        var seen: [(String, String)] = []
        try text.withBytes { (raw) throws(ProtocolError) in
            let scanner = JSONScanner(raw)
            try scanner.forEachMember { (key, value) throws(ProtocolError) in
                seen.append((try scanner.decodeString(key), String(decoding: raw.slice(value), as: UTF8.self)))
            }
        }
        #expect(seen.map(\.0) == ["a", "b", "c", "e"])
        #expect(seen.map(\.1) == ["[1, 2]", "\"x\\\"y\"", "{\"d\":null}", "-1.5e3"])
        #expect(throws: ProtocolError.self) {
            try utf8("[1]").withBytes { (raw) throws(ProtocolError) in try JSONScanner(raw).forEachMember { _, _ in } }
        }
    }

    @Test func stringEqualityDecodesEscapes() throws {
        let text = utf8("[\"msg_type\", \"msg\\u005ftype\", \"msg\\u005Ftyp\", \"ms\", \"\\u00e9\"]")
        try text.withBytes { (raw) throws(ProtocolError) in
            let scanner = JSONScanner(raw)
            var tokens: [JSONStringToken] = []
            var i = 1
            while i < raw.count, raw[i] != UInt8(ascii: "]") {
                i = scanner.skipWhitespace(i)
                if raw[i] == UInt8(ascii: ",") { i += 1; continue }
                let token = try scanner.scanString(at: i)
                tokens.append(token)
                i = token.range.upperBound
            }
            #expect(tokens.count == 5)
            #expect(scanner.string(tokens[0], equals: "msg_type"))
            #expect(!tokens[0].hasEscapes)
            #expect(scanner.string(tokens[1], equals: "msg_type"))
            #expect(tokens[1].hasEscapes)
            #expect(!scanner.string(tokens[2], equals: "msg_type"))
            #expect(!scanner.string(tokens[3], equals: "msg_type"))
            #expect(scanner.string(tokens[4], equals: "é"))
            #expect(try scanner.decodeString(tokens[4]) == "é")
        }
    }

    @Test func scannerNeverReadsOutsideItsWindow() throws {
        // The window cuts a valid document in half: the scanner must see a truncated value.
        let text = utf8("{\"a\":\"0123456789\"}")
        let error = #expect(throws: ProtocolError.self) {
            try text.withBytes { (raw) throws(ProtocolError) in _ = try JSONScanner(raw, range: 0..<10).validateDocument() }
        }
        #expect(error?.code == .truncated)
        // A window inside the buffer validates only that window.
        let inner = try text.withBytes { (raw) throws(ProtocolError) in try JSONScanner(raw, range: 5..<17).validateDocument() }
        #expect(inner == 5..<17)
    }
}

@Suite struct HeaderFieldsTests {
    func scan(_ text: String) throws(ProtocolError) -> (HeaderFields, [UInt8]) {
        let bytes = utf8(text)
        return (try HeaderFields.scan(bytes), bytes)
    }

    func value(_ token: JSONStringToken?, _ bytes: [UInt8]) -> String? {
        guard let token else { return nil }
        return String(decoding: bytes[token.range], as: UTF8.self)
    }

    @Test func findsFieldsAsRawTokens() throws {
        let (fields, bytes) = try scan(" {\"date\": \"2026\", \"msg_id\":\"abc\", \"username\" : \"bob\", \"session\":\"s\", \"msg_type\":\"execute_request\", \"x\": {\"msg_type\": 1}} ")
        #expect(value(fields.msgID, bytes) == "\"abc\"")
        #expect(value(fields.msgType, bytes) == "\"execute_request\"")
        #expect(value(fields.username, bytes) == "\"bob\"")
        #expect(value(fields.session, bytes) == "\"s\"")
        #expect(fields.memberCount == 6)
        #expect(bytes[fields.object.lowerBound] == UInt8(ascii: "{"))
        #expect(bytes[fields.object.upperBound - 1] == UInt8(ascii: "}"))
        #expect(fields.object == 1..<(bytes.count - 1))
    }

    @Test func absentFieldsAreNil() throws {
        let (fields, _) = try scan("{}")
        #expect(fields.msgID == nil && fields.msgType == nil && fields.session == nil && fields.username == nil)
        #expect(fields.memberCount == 0)
    }

    @Test(arguments: [
        ("{\"msg_type\":\"a\",\"msg_type\":\"b\"}", ProtocolError.Code.duplicateKey),
        ("{\"msg_type\":\"a\",\"msg\\u005ftype\":\"b\"}", .duplicateKey),
        ("{\"username\":\"a\",\"user\\u006eame\":\"b\"}", .duplicateKey),
        ("{\"msg_type\":1}", .wrongType), ("{\"msg_id\":null}", .wrongType), ("{\"username\":[]}", .wrongType),
        ("[]", .wrongType), ("\"header\"", .wrongType), ("{\"a\":1} x", .trailingData), ("{\"a\":", .truncated),
    ])
    func rejects(_ text: String, _ expected: ProtocolError.Code) {
        #expect(throws: ProtocolError.self) { _ = try scan(text) }
        do { _ = try scan(text) } catch { #expect(error.code == expected, "\(text)") }
    }

    @Test func escapedKeyIsRecognised() throws {
        let (fields, bytes) = try scan("{\"msg\\u005ftype\":\"execute_request\"}")
        #expect(value(fields.msgType, bytes) == "\"execute_request\"")
    }
}

@Suite struct ScannerFastPathTests {
    @Test func chunkCheckNeverMissesABytePathCharacter() {
        // The 8-byte mask's lowest flagged byte must be exactly the first quote, backslash, control or
        // non-ASCII byte, and a clean chunk must give zero; a second special byte sits at a random place.
        func needs(_ b: UInt8) -> Bool { b < 0x20 || b >= 0x80 || b == 0x22 || b == 0x5C }
        var rng = SeededGenerator(state: 42)
        for value in 0...255 {
            for position in 0..<8 {
                for _ in 0..<8 {
                    var chunk = [UInt8](repeating: 0, count: 8)
                    for k in 0..<8 { chunk[k] = UInt8.random(in: 0x20...0x7E, using: &rng) }
                    chunk[position] = UInt8(value)
                    if Bool.random(using: &rng) { chunk[Int.random(in: 0..<8, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                    let word = chunk.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
                    let mask = JSONScanner.attentionMask(word)
                    if let first = chunk.firstIndex(where: needs) {
                        #expect(mask.trailingZeroBitCount / 8 == first, "\(chunk)")
                    } else {
                        #expect(mask == 0, "\(chunk)")
                    }
                }
            }
        }
    }
}
