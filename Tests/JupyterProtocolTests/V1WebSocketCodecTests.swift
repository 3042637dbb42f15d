import Testing
@testable import JupyterProtocol

@Suite struct V1WebSocketCodecTests {
    func encode(_ channel: Channel, _ parts: [[UInt8]], prefix: [UInt8] = []) -> [UInt8] {
        var out = prefix
        withRawViews(parts) { v in
            V1WebSocketCodec.encode(
                channel: channel,
                parts: MessageParts(header: v[0], parentHeader: v[1], metadata: v[2], content: v[3], buffers: Array(v[4...])),
                into: &out)
        }
        return Array(out.dropFirst(prefix.count))
    }

    @Test func encodingMatchesJupyterServerByteForByte() throws {
        for item in Fixtures.shared.v1_out {
            let channel = try #require(Channel(rawValue: item.channel))
            #expect(encode(channel, item.parts.map(b64), prefix: [7]) == b64(item.expected))
        }
    }

    @Test func decodingJupyterServerFramesGivesTheParts() throws {
        for item in Fixtures.shared.v1_out {
            let frame = b64(item.expected)
            let parts = item.parts.map(b64)
            for validate in [true, false] {
                let layout = try V1WebSocketCodec.decode(frame, validateParts: validate)
                #expect(layout.channel.rawValue == item.channel)
                #expect(Array(frame[layout.header]) == parts[0])
                #expect(layout.parentHeader.map { Array(frame[$0]) } == parts[1])
                #expect(layout.metadata.map { Array(frame[$0]) } == parts[2])
                #expect(Array(frame[layout.content]) == parts[3])
                #expect(layout.buffers.map { Array(frame[$0]) } == Array(parts[4...]))
                #expect(layout.headerFields.object == layout.header)
                let msgType = try #require(layout.headerFields.msgType)
                #expect(frame[msgType.range].first == UInt8(ascii: "\""))
            }
        }
    }

    func frame(offsets: [UInt64], count: UInt64? = nil, payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.appendLittleEndian(count ?? UInt64(offsets.count))
        for o in offsets { out.appendLittleEndian(o) }
        return out + payload
    }

    @Test func rejectsHostileFrames() {
        let dicts = [utf8("{\"msg_type\":\"x\"}"), utf8("{}"), utf8("{}"), utf8("{}")]
        let parts = [utf8("shell")] + dicts
        let good = encode(.shell, dicts)
        #expect((try? V1WebSocketCodec.decode(good))?.channel == .shell)
        let payload = parts.joined()
        let table = 8 * 7
        var starts: [UInt64] = [UInt64(table)]
        for p in parts { starts.append(starts.last.map { $0 + UInt64(p.count) } ?? 0) }
        #expect(frame(offsets: starts, payload: Array(payload)) == good)

        var decreasing = starts
        decreasing[3] = decreasing[2] - 1
        var beyond = starts
        beyond[2] = 1 << 40
        var huge = starts
        huge[5] = UInt64.max
        var wrongFirst = starts
        wrongFirst[0] = 0
        let cases: [[UInt8]] = [
            [], Array(good.prefix(7)), Array(good.prefix(20)), Array(good.dropLast()), good + [0],
            frame(offsets: starts, count: 5, payload: Array(payload)),  // too few offsets
            frame(offsets: starts, count: UInt64.max, payload: Array(payload)),  // absurd count
            frame(offsets: starts, count: 1 << 62, payload: Array(payload)),  // count * 8 overflows
            frame(offsets: decreasing, payload: Array(payload)), frame(offsets: beyond, payload: Array(payload)),
            frame(offsets: huge, payload: Array(payload)), frame(offsets: wrongFirst, payload: Array(payload)),
            encode(.shell, [utf8("{\"msg_type\":\"x\"}"), utf8("{}"), utf8("{}"), utf8("[]")]),  // content not an object
            encode(.shell, [utf8("{\"msg_type\":1}"), utf8("{}"), utf8("{}"), utf8("{}")]),  // bad header
            encode(.shell, [utf8("{}"), utf8("{}"), utf8("{} x"), utf8("{}")]),  // metadata with trailing data
            encode(.shell, [utf8("{}"), utf8(""), utf8("{}"), utf8("{}")]),  // empty parent_header
        ]
        for bytes in cases {
            #expect(throws: ProtocolError.self) { try V1WebSocketCodec.decode(bytes) }
        }
        // Unknown channel names.
        var renamed = good
        renamed[table] = UInt8(ascii: "S")
        let error = #expect(throws: ProtocolError.self) { try V1WebSocketCodec.decode(renamed) }
        #expect(error?.code == .unknownChannel)
    }

    @Test func skippingValidationStillChecksShape() throws {
        let sloppy = encode(.control, [utf8("{\"msg_type\":\"x\"}"), utf8("{}"), utf8("{}"), utf8("{not json")])
        #expect(throws: ProtocolError.self) { try V1WebSocketCodec.decode(sloppy) }
        let layout = try V1WebSocketCodec.decode(sloppy, validateParts: false)
        #expect(layout.channel == .control)
        let notObject = encode(.control, [utf8("{\"msg_type\":\"x\"}"), utf8("{}"), utf8("{}"), utf8("[1]")])
        #expect(throws: ProtocolError.self) { try V1WebSocketCodec.decode(notObject, validateParts: false) }
    }

    @Test func subprotocolSelection() {
        #expect(WebSocketSubprotocol.select(offered: ["v1.kernel.websocket.jupyter.org"]) == .v1)
        #expect(WebSocketSubprotocol.select(offered: ["foo", " v1.kernel.websocket.jupyter.org "]) == .v1)
        #expect(WebSocketSubprotocol.select(offered: ["v2.kernel.websocket.jupyter.org"]) == .legacy)
        #expect(WebSocketSubprotocol.select(offered: [String]()) == .legacy)
        #expect(WebSocketSubprotocol.legacy.responseHeaderValue == nil)
        #expect(WebSocketSubprotocol.v1.responseHeaderValue == "v1.kernel.websocket.jupyter.org")
    }

    @Test func channelParsing() {
        for channel in Channel.allCases {
            #expect(Channel(bytes: utf8(channel.rawValue)) == channel)
            #expect(channel.withWireName { Array($0) } == utf8(channel.rawValue))
        }
        for bad in ["", "h", "hB", "shel", "shells", "iopuB", "contro", "Control", "stdin\0"] {
            #expect(Channel(bytes: utf8(bad)) == nil)
        }
    }
}
