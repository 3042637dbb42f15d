import EventLoop
import Glibc
import Testing
@testable import HTTPServer

@Suite struct WebSocketFrameHeaderTests {
    @Test(arguments: [(0, [0x82, 0x00]), (125, [0x82, 0x7D]), (126, [0x82, 0x7E, 0x00, 0x7E]),
                      (65535, [0x82, 0x7E, 0xFF, 0xFF]),
                      (65536, [0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00])])
    func encodesMinimalLength(length: Int, expected: [UInt8]) {
        var buffer = [UInt8](repeating: 0xEE, count: WebSocketFrameHeader.maxByteCount)
        let written = buffer.withUnsafeMutableBytes { raw in
            WebSocketFrameHeader.encode(opcode: WebSocketFrameHeader.binaryOpcode, payloadLength: length, into: raw.baseAddress!)
        }
        #expect(Array(buffer[0..<written]) == expected)
        #expect(written == WebSocketFrameHeader.byteCount(payloadLength: length))
    }

    @Test func textOpcode() {
        var buffer = [UInt8](repeating: 0, count: WebSocketFrameHeader.maxByteCount)
        _ = buffer.withUnsafeMutableBytes { raw in
            WebSocketFrameHeader.encode(opcode: WebSocketFrameHeader.opcode(for: .text), payloadLength: 3, into: raw.baseAddress!)
        }
        #expect(buffer[0] == 0x81)
        #expect(buffer[1] == 3)
    }

    @Test func findsFrameBoundariesInCodecOutput() {
        let frames: [UInt8] = [0x8A, 0x01, 0x61] + [0x8A, 0x7E, 0x00, 0x7E] + [UInt8](repeating: 0, count: 126) + [0x88, 0x00]
        frames.withUnsafeBytes { raw in
            #expect(WebSocketConnection.lengthOfFrames(1, in: raw) == 3)
            #expect(WebSocketConnection.lengthOfFrames(2, in: raw) == 3 + 4 + 126)
            #expect(WebSocketConnection.lengthOfFrames(3, in: raw) == frames.count)
            #expect(WebSocketConnection.lengthOfFrames(9, in: raw) == frames.count)
            #expect(WebSocketConnection.lengthOfFrames(1, in: UnsafeRawBufferPointer(rebasing: raw[0..<5])) == 3)
            // A cut-off frame is not split further: everything goes.
            #expect(WebSocketConnection.lengthOfFrames(2, in: UnsafeRawBufferPointer(rebasing: raw[0..<5])) == 5)
        }
    }

    @Test func reasonTruncationKeepsCharacters() {
        let reason = String(repeating: "é", count: 100)  // 200 UTF-8 bytes
        let cut = WebSocketConnection.truncated(reason, toUTF8Bytes: 123)
        #expect(cut.utf8.count == 122)
        #expect(cut == String(repeating: "é", count: 61))
        #expect(WebSocketConnection.truncated("short", toUTF8Bytes: 123) == "short")
    }
}

@Suite(.serialized) struct WebSocketConnectionTests {
    @Test(arguments: [0, 125, 126, 65535, 65536, 300_000])
    func echoesMessagesOfEveryLengthEncoding(length: Int) async throws {
        let setup = try await WebSocketTestSetup.make()
        defer { setup.shutdown() }
        let text = [UInt8]((0..<length).map { UInt8(ascii: "a") + UInt8($0 % 26) })
        let binary = [UInt8]((0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try setup.peer.write(ClientFrame.make(ClientFrame.text, text) + ClientFrame.make(ClientFrame.binary, binary))
        let first = try #require(try setup.peer.readFrame())
        let second = try #require(try setup.peer.readFrame())
        #expect(first.opcode == ClientFrame.text && first.fin)
        #expect(first.payload == text)
        #expect(first.headerLength == WebSocketFrameHeader.byteCount(payloadLength: length))
        #expect(second.opcode == ClientFrame.binary && second.fin)
        #expect(second.payload == binary)
        let messages = setup.delegate.snapshot.messages
        #expect(messages.map(\.kind) == [.text, .binary])
        #expect(messages.map(\.payload.count) == [length, length])
    }

    @Test func reassemblesFragmentsAroundAPing() async throws {
        let setup = try await WebSocketTestSetup.make()
        defer { setup.shutdown() }
        // One write, so everything is decoded from one read: replies must still keep the order of the requests.
        try setup.peer.write(
            ClientFrame.make(ClientFrame.text, Array("Hel".utf8), fin: false)
            + ClientFrame.make(ClientFrame.ping, Array("p1".utf8))
            + ClientFrame.make(ClientFrame.continuation, Array("lo ".utf8), fin: false)
            + ClientFrame.make(ClientFrame.continuation, Array("world".utf8))
            + ClientFrame.make(ClientFrame.ping, Array("p2".utf8))
            + ClientFrame.make(ClientFrame.binary, [9]))
        var frames: [ServerFrame] = []
        for _ in 0..<4 { frames.append(try #require(try setup.peer.readFrame())) }
        #expect(frames.map(\.opcode) == [ClientFrame.pong, ClientFrame.text, ClientFrame.pong, ClientFrame.binary])
        #expect(frames.map(\.payload) == [Array("p1".utf8), Array("Hello world".utf8), Array("p2".utf8), [9]])
        #expect(setup.delegate.snapshot.messages.count == 2)
    }

    @Test func peerCloseIsEchoedThenTCPClosed() async throws {
        let setup = try await WebSocketTestSetup.make()
        defer { setup.shutdown() }
        try setup.peer.write(ClientFrame.close(code: 1000, reason: Array("bye".utf8)))
        let frames = try setup.peer.readUntilEnd()
        #expect(frames.count == 1)
        #expect(frames.first?.closeCode == 1000)
        #expect(await setup.waitFor { $0.closes.count == 1 })
        #expect(setup.delegate.snapshot.closes == [WebSocketCloseCode.normalClosure])
        #expect(await setup.isOpen() == false)
    }

    @Test func peerCloseWithoutCodeIsReportedAsNil() async throws {
        let setup = try await WebSocketTestSetup.make()
        defer { setup.shutdown() }
        try setup.peer.write(ClientFrame.close(code: nil))
        let frames = try setup.peer.readUntilEnd()
        #expect(frames.map(\.opcode) == [ClientFrame.close])
        #expect(frames.first?.payload.isEmpty == true)
        #expect(await setup.waitFor { $0.closes.count == 1 })
        #expect(setup.delegate.snapshot.closes == [nil])
    }

    @Test func messageBeforeCloseIsAnsweredBeforeTheCloseEcho() async throws {
        let setup = try await WebSocketTestSetup.make()
        defer { setup.shutdown() }
        // One write, so the message and the close arrive in the same read.
        try setup.peer.write(ClientFrame.make(ClientFrame.text, Array("last".utf8)) + ClientFrame.close(code: 1001))
        let frames = try setup.peer.readUntilEnd()
        #expect(frames.map(\.opcode) == [ClientFrame.text, ClientFrame.close])
        #expect(frames.first?.payload == Array("last".utf8))
        #expect(frames.last?.closeCode == 1001)
    }

    @Test func ourCloseWaitsForThePeersClose() async throws {
        let setup = try await WebSocketTestSetup.make()
        defer { setup.shutdown() }
        let connection = setup.connection
        await runOnLoop(setup.loop) { connection.close(code: .normalClosure, reason: "done") }
        let close = try #require(try setup.peer.readFrame())
        #expect(close.closeCode == 1000)
        #expect(close.payload.dropFirst(2) == ArraySlice("done".utf8))
        #expect(await setup.isOpen() == false)
        #expect(await setup.waitFor { $0.closes.count == 1 })
        #expect(setup.delegate.snapshot.closes == [WebSocketCloseCode.normalClosure])
        // Still connected until we answer (the close timeout is 5 s).
        let sent = await runOnLoop(setup.loop) { [2, 3].withUnsafeBytes { connection.send(.binary, payload: $0) } }
        #expect(sent == false)
        let started = Monotonic.now
        try setup.peer.write(ClientFrame.close(code: 1000))
        #expect(try setup.peer.readUntilEnd().isEmpty)
        #expect(Monotonic.now - started < 2_000_000_000)
        #expect(setup.delegate.snapshot.closes.count == 1)
    }

    @Test func ourCloseDropsASilentPeerAfterTheTimeout() async throws {
        let setup = try await WebSocketTestSetup.make(configuration: .init(closeTimeout: .milliseconds(200)))
        defer { setup.shutdown() }
        let connection = setup.connection
        let started = Monotonic.now
        await runOnLoop(setup.loop) { connection.close(code: .goingAway, reason: "") }
        let frames = try setup.peer.readUntilEnd()
        let elapsed = Monotonic.now - started
        #expect(frames.map(\.closeCode) == [1001])
        #expect(elapsed >= 150_000_000 && elapsed < 3_000_000_000)
    }

    @Test func delegateMayCloseFromInsideAMessage() async throws {
        let setup = try await WebSocketTestSetup.make(delegate: RecordingDelegate(echo: true, closeOnMessage: .init(rawValue: 4001)))
        defer { setup.shutdown() }
        try setup.peer.write(ClientFrame.make(ClientFrame.text, Array("a".utf8)) + ClientFrame.make(ClientFrame.text, Array("b".utf8)))
        let echo = try #require(try setup.peer.readFrame())
        #expect(echo.payload == Array("a".utf8))
        let close = try #require(try setup.peer.readFrame())
        #expect(close.closeCode == 4001)
        try setup.peer.write(ClientFrame.close(code: 4001))
        #expect(try setup.peer.readUntilEnd().isEmpty)
        // "b" arrived after our close: not delivered.
        #expect(setup.delegate.snapshot.messages.count == 1)
        #expect(await setup.waitFor { $0.closes.count == 1 })
        #expect(setup.delegate.snapshot.closes == [WebSocketCloseCode(rawValue: 4001)])
    }

    @Test func unmaskedFrameFailsWith1002() async throws {
        let setup = try await WebSocketTestSetup.make()
        defer { setup.shutdown() }
        try setup.peer.write(ClientFrame.make(ClientFrame.text, Array("x".utf8), masked: false))
        let frames = try setup.peer.readUntilEnd()
        #expect(frames.map(\.closeCode) == [1002])
        #expect(await setup.waitFor { $0.closes.count == 1 })
        #expect(setup.delegate.snapshot.closes == [WebSocketCloseCode.protocolError])
        #expect(setup.delegate.snapshot.messages.isEmpty)
    }

    @Test func oversizedMessageFailsWith1009() async throws {
        let setup = try await WebSocketTestSetup.make(configuration: .init(maxMessageBytes: 1000))
        defer { setup.shutdown() }
        try setup.peer.write(ClientFrame.make(ClientFrame.binary, [UInt8](repeating: 1, count: 1000)))
        let ok = try #require(try setup.peer.readFrame())
        #expect(ok.payload.count == 1000)
        try setup.peer.write(ClientFrame.make(ClientFrame.binary, [UInt8](repeating: 1, count: 1001)))
        let frames = try setup.peer.readUntilEnd()
        #expect(frames.map(\.closeCode) == [1009])
    }

    @Test func silentPeerIsPingedThenClosed() async throws {
        let setup = try await WebSocketTestSetup.make(configuration: .init(pingInterval: .milliseconds(100)))
        defer { setup.shutdown() }
        let started = Monotonic.now
        let frames = try setup.peer.readUntilEnd()
        let elapsed = Monotonic.now - started
        #expect(frames.first?.opcode == ClientFrame.ping)
        #expect(frames.last?.closeCode == 1001)
        // Two intervals of silence (about 200 ms), with slack for a loaded machine.
        #expect(elapsed >= 180_000_000 && elapsed < 2_000_000_000)
        #expect(await setup.waitFor { $0.closes.count == 1 })
        #expect(setup.delegate.snapshot.closes == [WebSocketCloseCode.goingAway])
    }

    @Test func peerThatAnswersPingsStaysOpen() async throws {
        let setup = try await WebSocketTestSetup.make(configuration: .init(pingInterval: .milliseconds(100)))
        defer { setup.shutdown() }
        var pings = 0
        let started = Monotonic.now
        while Monotonic.now - started < 700_000_000 {
            let frame = try #require(try setup.peer.readFrame())
            #expect(frame.opcode == ClientFrame.ping)
            pings += 1
            try setup.peer.write(ClientFrame.make(ClientFrame.pong, frame.payload))
        }
        #expect(pings >= 3)
        #expect(await setup.isOpen())
        #expect(setup.delegate.snapshot.closes.isEmpty)
        try setup.peer.write(ClientFrame.make(ClientFrame.text, Array("alive".utf8)))
        var frame = try #require(try setup.peer.readFrame())
        while frame.opcode == ClientFrame.ping { frame = try #require(try setup.peer.readFrame()) }
        #expect(frame.payload == Array("alive".utf8))
    }

    @Test func peerThatNeverReadsIsClosedAtTheHardLimit() async throws {
        let configuration = WebSocketConnection.Configuration(outboundHighWaterMark: 64 * 1024, outboundHardLimit: 256 * 1024)
        let setup = try await WebSocketTestSetup.make(configuration: configuration, delegate: RecordingDelegate(echo: false))
        defer { setup.shutdown() }
        let connection = setup.connection
        let delegate = setup.delegate
        let payload = [UInt8](repeating: 0x5A, count: 64 * 1024)
        // (messages accepted, closes seen by the delegate right after `send` returned false)
        let (accepted, closesInsideSend, overHighWater) = await runOnLoop(setup.loop) { () -> (Int, Int, Bool) in
            var count = 0
            var wasOver = false
            while count < 10_000 {
                let ok = payload.withUnsafeBytes { connection.send(.binary, payload: $0) }
                wasOver = wasOver || connection.isOverHighWater
                if !ok { break }
                count += 1
            }
            return (count, delegate.snapshot.closes.count, wasOver)
        }
        #expect(accepted < 10_000)
        #expect(overHighWater)
        #expect(closesInsideSend == 0)
        #expect(await setup.waitFor { $0.closes.count == 1 })
        #expect(setup.delegate.snapshot.closes == [WebSocketCloseCode.policyViolation])
        #expect(await setup.isOpen() == false)
        // The peer finally reads: every accepted message, the one that crossed the limit, then the 1008 close.
        var binaries = 0
        var close: ServerFrame?
        while let frame = try setup.peer.readFrame() {
            if frame.opcode == ClientFrame.binary {
                #expect(frame.payload.count == payload.count)
                binaries += 1
            } else if frame.opcode == ClientFrame.close {
                close = frame
                break
            }
        }
        #expect(binaries == accepted + 1)
        #expect(close?.closeCode == 1008)
        let reason = String(decoding: close?.payload.dropFirst(2) ?? [], as: UTF8.self)
        #expect(reason.hasPrefix("client too slow"))
    }

    @Test func drainIsReportedOnceTheQueueEmpties() async throws {
        let configuration = WebSocketConnection.Configuration(outboundHighWaterMark: 64 * 1024, outboundHardLimit: 64 << 20)
        let setup = try await WebSocketTestSetup.make(configuration: configuration, delegate: RecordingDelegate(echo: false))
        defer { setup.shutdown() }
        let connection = setup.connection
        let payload = [UInt8](repeating: 1, count: 32 * 1024)
        let sent = await runOnLoop(setup.loop) { () -> Int in
            var count = 0
            while !connection.isOverHighWater && count < 1000 {
                _ = payload.withUnsafeBytes { connection.send(.binary, payload: $0) }
                count += 1
            }
            return count
        }
        #expect(sent < 1000)
        // Writes made in one loop turn are flushed together at its end, so the drain may already be reported.
        #expect(setup.delegate.snapshot.drains <= 1)
        for _ in 0..<sent { _ = try #require(try setup.peer.readFrame()) }
        #expect(await setup.waitFor { $0.drains == 1 })
        #expect(await runOnLoop(setup.loop) { connection.queuedBytes } == 0)
    }

    @Test func pendingInputIsProcessedBeforeTheSocketAndUnsentBytesGoFirst() async throws {
        let second = ClientFrame.make(ClientFrame.text, Array("second".utf8))
        let pending = ClientFrame.make(ClientFrame.text, Array("first".utf8)) + second[0..<4]
        let unsent = Array("HTTP/1.1 101 Switching Protocols\r\n\r\n".utf8)
        let setup = try await WebSocketTestSetup.make(pendingInput: pending, unsent: unsent) { peer in
            // Already in the socket before start(): the rest of "second", then "third".
            try peer.write(Array(second[4...]) + ClientFrame.make(ClientFrame.text, Array("third".utf8)))
        }
        defer { setup.shutdown() }
        #expect(try setup.peer.readBytes(unsent.count) == unsent)
        var echoed: [String] = []
        for _ in 0..<3 {
            let frame = try #require(try setup.peer.readFrame())
            echoed.append(String(decoding: frame.payload, as: UTF8.self))
        }
        #expect(echoed == ["first", "second", "third"])
    }

    @Test func sendBeforeStartAndCloseBeforeStart() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var pair: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        let peer = RawWebSocketPeer(fd: pair[1])
        let delegate = RecordingDelegate()
        let serverFD = pair[0]
        let sent = await runOnLoop(loop) { () -> Bool in
            let connection = WebSocketConnection(fd: serverFD, pendingInput: [], unsent: [], loop: loop, id: 1)
            connection.delegate = delegate
            let sent = [UInt8(1)].withUnsafeBytes { connection.send(.binary, payload: $0) }
            connection.close(code: .normalClosure, reason: "")
            return sent
        }
        #expect(sent == false)
        // Closing an unstarted connection closes the descriptor without a handshake.
        #expect(try peer.readUntilEnd().isEmpty)
        for _ in 0..<200 where delegate.snapshot.closes.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        #expect(delegate.snapshot.closes == [WebSocketCloseCode.normalClosure])
    }
}
