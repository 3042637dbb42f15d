import Foundation
import Testing
@testable import JupyterProtocol

@Suite struct LegacyWebSocketCodecTests {
    /// Splits a legacy binary frame with Python's algorithm (test oracle).
    func splitBinary(_ frame: [UInt8]) -> [[UInt8]] {
        func u32(_ i: Int) -> Int { frame[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) } }
        let n = u32(0)
        let offsets = (0..<n).map { u32(4 * ($0 + 1)) } + [frame.count]
        return (0..<n).map { Array(frame[offsets[$0]..<offsets[$0 + 1]]) }
    }

    func encode(_ channel: Channel, _ parts: [[UInt8]], prefix: [UInt8] = []) throws -> ([UInt8], WebSocketFrameKind) {
        var out = prefix
        let kind = try withRawViews(parts) { v in
            try LegacyWebSocketCodec.encode(
                channel: channel,
                parts: MessageParts(header: v[0], parentHeader: v[1], metadata: v[2], content: v[3], buffers: Array(v[4...])),
                into: &out)
        }
        #expect(Array(out.prefix(prefix.count)) == prefix, "encoder must append, not overwrite")
        return (Array(out.dropFirst(prefix.count)), kind)
    }

    @Test func encodingMatchesJupyterServer() throws {
        for item in Fixtures.shared.legacy_out {
            let frames = item.frames.map(b64)
            let channel = try #require(Channel(rawValue: item.channel))
            let (out, kind) = try encode(channel, Array(frames.dropFirst()), prefix: [9, 9, 9])
            let expected = b64(item.expected)
            #expect(kind == (item.kind == "text" ? .text : .binary))
            if item.byte_exact {
                #expect(out == expected, "\(String(decoding: out, as: UTF8.self))\n\(String(decoding: expected, as: UTF8.self))")
            } else if kind == .text {
                #expect(foundationJSON(out) == foundationJSON(expected))
            } else {
                let (ours, theirs) = (splitBinary(out), splitBinary(expected))
                #expect(ours.count == theirs.count)
                #expect(foundationJSON(ours[0]) == foundationJSON(theirs[0]))
                #expect(Array(ours.dropFirst()) == Array(theirs.dropFirst()))
            }
        }
    }

    @Test func encodeThenDecodeRoundTrips() throws {
        for item in Fixtures.shared.legacy_out {
            let parts = Array(item.frames.map(b64).dropFirst())
            let channel = try #require(Channel(rawValue: item.channel))
            let (out, kind) = try encode(channel, parts)
            let layout = try kind == .text ? LegacyWebSocketCodec.decode(text: out) : LegacyWebSocketCodec.decode(binary: out)
            #expect(layout.channel == channel)
            #expect(Array(out[layout.header]) == parts[0])
            #expect(Array(out[try #require(layout.parentHeader)]) == parts[1])
            #expect(Array(out[try #require(layout.metadata)]) == parts[2])
            #expect(Array(out[layout.content]) == parts[3])
            #expect(layout.buffers.map { Array(out[$0]) } == Array(parts[4...]))
            let msgType = try #require(layout.headerFields.msgType)
            #expect(foundationJSON(out[msgType.range]) as? String == (foundationJSON(parts[0]) as? NSDictionary)?["msg_type"] as? String)
        }
    }

    @Test func decodingAgreesWithPython() throws {
        #expect(Fixtures.shared.legacy_in.count >= 10)
        for item in Fixtures.shared.legacy_in {
            let frame = b64(item.frame)
            let layout = try item.kind == "text" ? LegacyWebSocketCodec.decode(text: frame) : LegacyWebSocketCodec.decode(binary: frame)
            #expect(layout.channel.rawValue == item.channel, "\(item.name)")
            #expect(foundationJSON(frame[layout.header]) == foundationJSON(utf8(item.header)), "\(item.name)")
            #expect(foundationJSON(layout.parentHeader.map { Array(frame[$0]) } ?? utf8("{}")) == foundationJSON(utf8(item.parent_header)), "\(item.name)")
            #expect(foundationJSON(layout.metadata.map { Array(frame[$0]) } ?? utf8("{}")) == foundationJSON(utf8(item.metadata)), "\(item.name)")
            #expect(foundationJSON(frame[layout.content]) == foundationJSON(utf8(item.content)), "\(item.name)")
            #expect(layout.buffers.map { Array(frame[$0]) } == item.buffers.map(b64), "\(item.name)")
            try frame.withBytes { (raw) throws(ProtocolError) in
                let scanner = JSONScanner(raw)
                let fields = layout.headerFields
                #expect(try fields.msgID.map { (t) throws(ProtocolError) in try scanner.decodeString(t) } == item.msg_id)
                #expect(try fields.msgType.map { (t) throws(ProtocolError) in try scanner.decodeString(t) } == item.msg_type)
                #expect(try fields.username.map { (t) throws(ProtocolError) in try scanner.decodeString(t) } == item.username)
                #expect(try fields.session.map { (t) throws(ProtocolError) in try scanner.decodeString(t) } == item.session)
                // Ranges are exact values: the bytes at the edges are the object braces.
                #expect(raw[layout.header.lowerBound] == UInt8(ascii: "{") && raw[layout.header.upperBound - 1] == UInt8(ascii: "}"))
                #expect(raw[layout.content.lowerBound] == UInt8(ascii: "{") && raw[layout.content.upperBound - 1] == UInt8(ascii: "}"))
            }
        }
    }

    @Test(arguments: [
        ("{\"content\":{}}", ProtocolError.Code.missingField),
        ("{\"header\":{}}", .missingField),
        ("{\"header\":[],\"content\":{}}", .wrongType),
        ("{\"header\":\"h\",\"content\":{}}", .wrongType),
        ("{\"header\":{},\"content\":[]}", .wrongType),
        ("{\"header\":{},\"content\":null}", .wrongType),
        ("{\"header\":{},\"content\":{},\"parent_header\":1}", .wrongType),
        ("{\"header\":{},\"content\":{},\"metadata\":\"m\"}", .wrongType),
        ("{\"header\":{},\"content\":{},\"channel\":\"shel\"}", .unknownChannel),
        ("{\"header\":{},\"content\":{},\"channel\":\"SHELL\"}", .unknownChannel),
        ("{\"header\":{},\"content\":{},\"channel\":1}", .wrongType),
        ("{\"header\":{},\"content\":{},\"buffers\":\"b\"}", .wrongType),
        ("{\"header\":{},\"header\":{},\"content\":{}}", .duplicateKey),
        ("{\"header\":{},\"content\":{},\"cont\\u0065nt\":{}}", .duplicateKey),
        ("{\"header\":{},\"content\":{},\"channel\":\"shell\",\"channel\":\"control\"}", .duplicateKey),
        ("{\"header\":{\"msg_type\":\"a\",\"msg_type\":\"b\"},\"content\":{}}", .duplicateKey),
        ("[]", .wrongType), ("", .truncated), ("{\"header\":{},\"content\":{}", .truncated),
        ("{\"header\":{},\"content\":{}} {}", .trailingData),
    ])
    func textRejects(_ text: String, _ expected: ProtocolError.Code) {
        let error = #expect(throws: ProtocolError.self) { try LegacyWebSocketCodec.decode(text: utf8(text)) }
        #expect(error?.code == expected, "\(text)")
    }

    func binaryFrame(count: UInt32, offsets: [UInt32], payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.appendBigEndian(count)
        for o in offsets { out.appendBigEndian(o) }
        return out + payload
    }

    @Test func binaryRejectsHostileOffsetTables() {
        let json = utf8("{\"header\":{},\"content\":{}}")
        let good = binaryFrame(count: 2, offsets: [12, 12 + UInt32(json.count)], payload: json + [1, 2, 3])
        #expect((try? LegacyWebSocketCodec.decode(binary: good))?.buffers == [(12 + json.count)..<(15 + json.count)])
        let cases: [[UInt8]] = [
            [], [0, 0], [0, 0, 0, 0],  // too short, zero parts
            binaryFrame(count: 0xFFFF_FFFF, offsets: [8], payload: json),  // absurd count
            binaryFrame(count: 3, offsets: [16, 16], payload: []),  // table does not fit
            binaryFrame(count: 2, offsets: [8, 12], payload: json),  // first offset not the table end
            binaryFrame(count: 2, offsets: [12, 11], payload: json),  // decreasing
            binaryFrame(count: 2, offsets: [12, 10_000], payload: json),  // out of range
            binaryFrame(count: 2, offsets: [12, 20], payload: json),  // JSON cut short
        ]
        for frame in cases {
            #expect(throws: ProtocolError.self) { try LegacyWebSocketCodec.decode(binary: frame) }
        }
    }

    @Test func encodeRequiresMsgIDAndType() {
        #expect(throws: ProtocolError.self) { try encode(.shell, [utf8("{\"msg_type\":\"a\"}"), utf8("{}"), utf8("{}"), utf8("{}")]) }
        #expect(throws: ProtocolError.self) { try encode(.shell, [utf8("{\"msg_id\":\"a\"}"), utf8("{}"), utf8("{}"), utf8("{}")]) }
        #expect(throws: ProtocolError.self) { try encode(.shell, [utf8("not json"), utf8("{}"), utf8("{}"), utf8("{}")]) }
    }
}
