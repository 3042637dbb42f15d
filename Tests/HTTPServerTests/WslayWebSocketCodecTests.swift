import Testing
@testable import HTTPServer

@Suite struct WslayWebSocketCodecTests {
    private func makeCodec(maxMessageBytes: Int = 16 * 1024 * 1024) throws -> WslayWebSocketCodec {
        try WslayWebSocketCodec(configuration: .init(maxMessageBytes: maxMessageBytes))
    }

    private func payload(_ count: Int, seed: Int = 0) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) }
    }

    private func asciiPayload(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(0x41 + $0 % 26) }
    }

    private func output(_ codec: WslayWebSocketCodec) throws -> [ServerFrame] {
        try #require(ServerFrame.decodeAll(codec.takeOutput()))
    }

    private func expectFailure(_ events: [WebSocketEvent], _ codec: WslayWebSocketCodec, code: UInt16, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(events.last == .failed(WebSocketCloseCode(rawValue: code)), "events: \(events)", sourceLocation: sourceLocation)
        let frames = try output(codec)
        #expect(frames.last?.opcode == 0x8, sourceLocation: sourceLocation)
        #expect(frames.last?.closeCode == code, "frames: \(frames)", sourceLocation: sourceLocation)
        #expect(codec.state == .closed, sourceLocation: sourceLocation)
    }

    // MARK: data messages

    @Test(arguments: [0, 1, 125, 126, 65535, 65536])
    func receivesTextAndBinaryOfLength(length: Int) throws {
        let codec = try makeCodec()
        let text = asciiPayload(length)
        let binary = payload(length, seed: 7)
        let events = codec.receive(ClientFrame.make(ClientFrame.text, text) + ClientFrame.make(ClientFrame.binary, binary))
        #expect(events == [.message(.init(kind: .text, payload: text)), .message(.init(kind: .binary, payload: binary))])
        #expect(codec.pendingOutputByteCount == 0)
        #expect(codec.state == .open)
    }

    @Test(arguments: [0, 125, 126, 65535, 65536])
    func sendsMinimallyEncodedUnmaskedFrames(length: Int) throws {
        let codec = try makeCodec()
        let body = payload(length, seed: 3)
        try codec.send(.binary, payload: body)
        try codec.sendText(String(decoding: asciiPayload(length), as: UTF8.self))
        let frames = try output(codec)
        #expect(frames.count == 2)
        #expect(frames.map(\.opcode) == [0x2, 0x1])
        #expect(frames.allSatisfy { $0.fin })
        #expect(frames.first?.payload == body)
        #expect(frames.last?.payload == asciiPayload(length))
        let expectedHeader = length < 126 ? 2 : (length <= 0xFFFF ? 4 : 10)
        #expect(frames.allSatisfy { $0.headerLength == expectedHeader })
    }

    @Test func inputSplitAtEveryBytePosition() throws {
        let stream = ClientFrame.make(ClientFrame.text, Array("héllo".utf8))
            + ClientFrame.make(ClientFrame.ping, Array("p".utf8))
            + ClientFrame.make(ClientFrame.binary, payload(130), fin: false)
            + ClientFrame.make(ClientFrame.continuation, payload(5, seed: 9))
        let expected: [WebSocketEvent] = [
            .message(.init(kind: .text, payload: Array("héllo".utf8))),
            .ping(Array("p".utf8)),
            .message(.init(kind: .binary, payload: payload(130) + payload(5, seed: 9))),
        ]
        for split in 0...stream.count {
            let codec = try makeCodec()
            let events = codec.receive(Array(stream[..<split])) + codec.receive(Array(stream[split...]))
            #expect(events == expected, "split \(split)")
            #expect(try output(codec) == [ServerFrame(fin: true, opcode: 0xA, payload: Array("p".utf8), headerLength: 2)])
        }
    }

    @Test func largeMessageFedInSmallChunks() throws {
        let codec = try makeCodec()
        let body = payload(200_000, seed: 5)
        let frame = ClientFrame.make(ClientFrame.binary, body)
        var events: [WebSocketEvent] = []
        var offset = 0
        while offset < frame.count {
            let end = min(frame.count, offset + 1447)
            events += codec.receive(Array(frame[offset..<end]))
            offset = end
        }
        #expect(events == [.message(.init(kind: .binary, payload: body))])
    }

    @Test func fragmentedTextWithInterleavedPings() throws {
        let codec = try makeCodec()
        // "é" (C3 A9) is split across fragments: validation must carry state across frames.
        let bytes = Array("Hello é world".utf8)
        let cut = bytes.firstIndex(of: 0xC3).map { $0 + 1 } ?? 0
        let stream = ClientFrame.make(ClientFrame.text, Array(bytes[..<cut]), fin: false)
            + ClientFrame.make(ClientFrame.ping, Array("one".utf8))
            + ClientFrame.make(ClientFrame.continuation, Array(bytes[cut...]), fin: false)
            + ClientFrame.make(ClientFrame.ping, Array("two".utf8))
            + ClientFrame.make(ClientFrame.pong, Array("unsolicited".utf8))
            + ClientFrame.make(ClientFrame.continuation, [], fin: true)
        let events = codec.receive(stream)
        #expect(events == [
            .ping(Array("one".utf8)), .ping(Array("two".utf8)), .pong(Array("unsolicited".utf8)),
            .message(.init(kind: .text, payload: bytes)),
        ])
        let frames = try output(codec)
        #expect(frames.map(\.opcode) == [0xA, 0xA])
        #expect(frames.map(\.payload) == [Array("one".utf8), Array("two".utf8)])
    }

    // MARK: closing

    @Test func peerCloseIsEchoedWithItsCode() throws {
        let codec = try makeCodec()
        let events = codec.receive(ClientFrame.close(code: 1001, reason: Array("bye".utf8)) + ClientFrame.make(ClientFrame.text, Array("late".utf8)))
        #expect(events == [.closeReceived(code: .goingAway, reason: "bye")])
        let frames = try output(codec)
        #expect(frames.count == 1)
        #expect(frames.first?.closeCode == 1001)
        #expect(codec.state == .closed)
        #expect(throws: WebSocketCodecError.self) { try codec.sendText("after close") }
        #expect(codec.receive(ClientFrame.make(ClientFrame.text, Array("x".utf8))).isEmpty)
    }

    @Test(arguments: [UInt16(1000), 1003, 1007, 1011, 3000, 4999])
    func validCloseCodesAreEchoed(code: UInt16) throws {
        let codec = try makeCodec()
        #expect(codec.receive(ClientFrame.close(code: code)) == [.closeReceived(code: WebSocketCloseCode(rawValue: code), reason: "")])
        #expect(try output(codec).first?.closeCode == code)
    }

    @Test func closeFrameSplitAcrossReadsAtEveryPosition() throws {
        let frame = ClientFrame.close(code: 1000, reason: Array("done here".utf8))
        for split in 1..<frame.count {
            let codec = try makeCodec()
            let events = codec.receive(Array(frame[..<split])) + codec.receive(Array(frame[split...]))
            #expect(events == [.closeReceived(code: .normalClosure, reason: "done here")], "split \(split)")
            #expect(try output(codec).first?.closeCode == 1000)
        }
    }

    @Test func closeWithoutCodeIsEchoedEmpty() throws {
        let codec = try makeCodec()
        #expect(codec.receive(ClientFrame.close(code: nil)) == [.closeReceived(code: nil, reason: "")])
        let frames = try output(codec)
        #expect(frames.count == 1)
        #expect(frames.first?.opcode == 0x8)
        #expect(frames.first?.payload == [])
    }

    @Test func serverInitiatedClose() throws {
        let codec = try makeCodec()
        try codec.sendClose(.goingAway, reason: "restarting")
        #expect(codec.state == .closing)
        let sent = try output(codec)
        #expect(sent.first?.closeCode == 1001)
        #expect(sent.first.map { Array($0.payload.dropFirst(2)) } == Array("restarting".utf8))
        #expect(throws: WebSocketCodecError.self) { try codec.sendText("no") }
        // Data still arriving before the peer's close is reported.
        let events = codec.receive(ClientFrame.make(ClientFrame.text, Array("in flight".utf8)) + ClientFrame.close(code: 1001))
        #expect(events == [.message(.init(kind: .text, payload: Array("in flight".utf8))), .closeReceived(code: .goingAway, reason: "")])
        #expect(codec.state == .closed)
        #expect(codec.pendingOutputByteCount == 0)
    }

    @Test(arguments: [UInt16(0), 999, 1004, 1005, 1006, 1016, 2999, 5000])
    func invalidCloseCodesAre1002(code: UInt16) throws {
        let codec = try makeCodec()
        try expectFailure(codec.receive(ClientFrame.close(code: code)), codec, code: 1002)
    }

    @Test func oneByteClosePayloadIs1002() throws {
        let codec = try makeCodec()
        try expectFailure(codec.receive(ClientFrame.make(ClientFrame.close, [0x03])), codec, code: 1002)
    }

    @Test func invalidUTF8CloseReasonIs1007() throws {
        let codec = try makeCodec()
        try expectFailure(codec.receive(ClientFrame.close(code: 1000, reason: [0x61, 0xFF])), codec, code: 1007)
    }

    @Test func sendCloseValidatesArguments() throws {
        let codec = try makeCodec()
        #expect(throws: WebSocketCodecError.self) { try codec.sendClose(.noStatusReceived, reason: "") }
        #expect(throws: WebSocketCodecError.self) { try codec.sendClose(.normalClosure, reason: String(repeating: "r", count: 124)) }
        #expect(throws: WebSocketCodecError.self) { try codec.sendPing(payload(126)) }
        #expect(codec.state == .open)
        #expect(codec.pendingOutputByteCount == 0)
    }

    // MARK: failures

    @Test func invalidUTF8TextIs1007() throws {
        let codec = try makeCodec()
        try expectFailure(codec.receive(ClientFrame.make(ClientFrame.text, [0x68, 0xED, 0xA0, 0x80])), codec, code: 1007)
    }

    @Test func invalidUTF8FailsFastInFirstFragment() throws {
        let codec = try makeCodec()
        let events = codec.receive(ClientFrame.make(ClientFrame.text, [0x61, 0xC0, 0x80], fin: false))
        try expectFailure(events, codec, code: 1007)
    }

    @Test func truncatedUTF8AtMessageEndIs1007() throws {
        let codec = try makeCodec()
        let stream = ClientFrame.make(ClientFrame.text, [0x61, 0xE2, 0x82], fin: false) + ClientFrame.make(ClientFrame.continuation, [], fin: true)
        try expectFailure(codec.receive(stream), codec, code: 1007)
    }

    @Test func invalidUTF8InBinaryIsFine() throws {
        let codec = try makeCodec()
        #expect(codec.receive(ClientFrame.make(ClientFrame.binary, [0xFF, 0xC0])) == [.message(.init(kind: .binary, payload: [0xFF, 0xC0]))])
    }

    @Test func oversizedMessageIs1009() throws {
        let limit = try makeCodec(maxMessageBytes: 1000)
        #expect(limit.receive(ClientFrame.make(ClientFrame.binary, payload(1000))).count == 1)
        let single = try makeCodec(maxMessageBytes: 1000)
        try expectFailure(single.receive(ClientFrame.make(ClientFrame.binary, payload(1001))), single, code: 1009)
        let fragmented = try makeCodec(maxMessageBytes: 1000)
        let stream = ClientFrame.make(ClientFrame.text, asciiPayload(600), fin: false) + ClientFrame.make(ClientFrame.continuation, asciiPayload(401))
        try expectFailure(fragmented.receive(stream), fragmented, code: 1009)
    }

    @Test func oversizedFrameIsRefusedFromItsHeaderAlone() throws {
        let codec = try makeCodec(maxMessageBytes: 1000)
        // The header of a 1 GiB frame plus one payload byte (wslay looks at a frame once some
        // payload is there): refused without buffering the rest.
        let header: [UInt8] = [0x82, 0xFF, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4, 0x55]
        try expectFailure(codec.receive(header), codec, code: 1009)
    }

    @Test func unmaskedClientFrameIs1002() throws {
        let codec = try makeCodec()
        try expectFailure(codec.receive(ClientFrame.make(ClientFrame.text, Array("hi".utf8), masked: false)), codec, code: 1002)
    }

    @Test(arguments: [UInt8(1), 2, 4, 7])
    func reservedBitsAre1002(rsv: UInt8) throws {
        let codec = try makeCodec()
        try expectFailure(codec.receive(ClientFrame.make(ClientFrame.text, Array("hi".utf8), rsv: rsv)), codec, code: 1002)
    }

    @Test(arguments: [UInt8(3), 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
    func reservedOpcodesAre1002(opcode: UInt8) throws {
        let codec = try makeCodec()
        try expectFailure(codec.receive(ClientFrame.make(opcode, [1, 2])), codec, code: 1002)
    }

    @Test func controlFrameRulesAre1002() throws {
        let tooLong = try makeCodec()
        try expectFailure(tooLong.receive(ClientFrame.make(ClientFrame.ping, payload(126))), tooLong, code: 1002)
        let fragmentedPing = try makeCodec()
        try expectFailure(fragmentedPing.receive(ClientFrame.make(ClientFrame.ping, [1], fin: false)), fragmentedPing, code: 1002)
    }

    @Test func fragmentationOrderViolationsAre1002() throws {
        let orphan = try makeCodec()
        try expectFailure(orphan.receive(ClientFrame.make(ClientFrame.continuation, [1])), orphan, code: 1002)
        let nested = try makeCodec()
        let stream = ClientFrame.make(ClientFrame.text, Array("a".utf8), fin: false) + ClientFrame.make(ClientFrame.text, Array("b".utf8))
        try expectFailure(nested.receive(stream), nested, code: 1002)
    }

    @Test func nonMinimalLengthEncodingIs1002() throws {
        let codec = try makeCodec()
        // 5-byte payload announced with the 16-bit length form.
        let frame: [UInt8] = [0x82, 0xFE, 0x00, 0x05, 1, 2, 3, 4] + [9, 9, 9, 9, 9]
        try expectFailure(codec.receive(frame), codec, code: 1002)
    }

    @Test func messagesBeforeAViolationAreStillReported() throws {
        let codec = try makeCodec()
        let stream = ClientFrame.make(ClientFrame.text, Array("ok".utf8)) + ClientFrame.make(ClientFrame.text, Array("x".utf8), masked: false)
        let events = codec.receive(stream)
        #expect(events.first == .message(.init(kind: .text, payload: Array("ok".utf8))))
        try expectFailure(events, codec, code: 1002)
        #expect(codec.receive(ClientFrame.make(ClientFrame.text, Array("more".utf8))).isEmpty)
    }

    // MARK: output accounting

    @Test func pendingOutputCountsAndConsumesPartially() throws {
        let codec = try makeCodec()
        try codec.send(.binary, payload: payload(300))
        try codec.sendPing(Array("k".utf8))
        let total = 4 + 300 + 2 + 1
        #expect(codec.pendingOutputByteCount == total)
        codec.consumeOutput(100)
        #expect(codec.pendingOutputByteCount == total - 100)
        let rest = codec.withPendingOutput { Array($0) }
        #expect(rest.count == total - 100)
        codec.consumeOutput(rest.count)
        #expect(codec.pendingOutputByteCount == 0)
        codec.consumeOutput(10)
        #expect(codec.pendingOutputByteCount == 0)
    }

    @Test func byteQueueCompactsAfterLargeConsumption() {
        var queue = ByteQueue()
        queue.append(contentsOf: [UInt8](repeating: 1, count: 100_000))
        queue.append(contentsOf: [2, 3])
        queue.consume(99_999)
        #expect(queue.count == 3)
        #expect(queue.withReadableBytes { Array($0) } == [1, 2, 3])
        #expect(queue.takeAll() == [1, 2, 3])
        #expect(queue.isEmpty)
    }
}
