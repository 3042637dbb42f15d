import Testing
@testable import ZMTP

@Suite struct ZMTPGreetingTests {
    @Test func encodedGreetingLayout() {
        let g = ZMTPGreeting.encoded
        #expect(g.count == 64)
        #expect(g[0] == 0xFF)
        #expect(g[1...8].allSatisfy { $0 == 0 })
        #expect(g[9] == 0x7F)
        #expect(g[10] == 3 && g[11] == 0)
        #expect(Array(g[12..<16]) == Array("NULL".utf8))
        #expect(g[16..<64].allSatisfy { $0 == 0 })
    }

    @Test func acceptsLibzmqStyleGreetingWithLengthInPaddingAndMinorOne() throws {
        var g = ZMTPGreeting.encoded
        g[8] = 1      // libzmq puts a ZMTP 1.0 length in the padding
        g[11] = 1     // 3.1
        g[32] = 1     // as-server
        try ZMTPGreeting.validate(prefix: g)
        g[10] = 4     // a future major version is fine too
        try ZMTPGreeting.validate(prefix: g)
    }

    @Test func rejectsBadSignatureOnTheFirstByte() {
        #expect(throws: ZMTPProtocolError.self) { try ZMTPGreeting.validate(prefix: [0x00]) }
        var g = ZMTPGreeting.encoded
        g[9] = 0x7E
        let error = #expect(throws: ZMTPProtocolError.self) { try ZMTPGreeting.validate(prefix: g[0..<10]) }
        #expect(error?.code == .badSignature)
    }

    @Test func rejectsOldVersionsAndOtherMechanisms() {
        var g = ZMTPGreeting.encoded
        g[10] = 2
        #expect((#expect(throws: ZMTPProtocolError.self) { try ZMTPGreeting.validate(prefix: g[0..<11]) })?.code == .unsupportedVersion)
        for mechanism in ["PLAIN", "CURVE", "NUL", "NULLX"] {
            var m = ZMTPGreeting.encoded
            for i in 12..<32 { m[i] = 0 }
            for (i, b) in mechanism.utf8.enumerated() { m[12 + i] = b }
            #expect((#expect(throws: ZMTPProtocolError.self) { try ZMTPGreeting.validate(prefix: m) })?.code == .unsupportedMechanism)
        }
    }

    @Test func partialPrefixesOfAGoodGreetingPass() throws {
        for n in 0...64 { try ZMTPGreeting.validate(prefix: ZMTPGreeting.encoded[0..<n]) }
    }
}

@Suite struct ZMTPCommandTests {
    func decode(_ body: [UInt8]) throws(ZMTPProtocolError) -> ZMTPCommand {
        let result = body.withUnsafeBytes { raw in Result { () throws(ZMTPProtocolError) in try ZMTPCommand.decode(body: raw) } }
        return try result.get()
    }

    @Test func readyRoundTripsAndLooksUpCaseInsensitively() throws {
        let ready = ZMTPCommand.ready([.init("Socket-Type", Array("DEALER".utf8)), .init("Identity", [])])
        let body = ready.body
        #expect(Array(body.prefix(6)) == [5] + Array("READY".utf8))
        #expect(try decode(body) == ready)
        #expect(try decode(body).property("socket-type") == Array("DEALER".utf8))
        #expect(try decode(body).property("IDENTITY") == [])
        #expect(try decode(body).property("Resource") == nil)
    }

    @Test func readyWireFormatIsBigEndianLengths() {
        let body = ZMTPCommand.ready([.init("A", [1, 2])]).body
        #expect(body == [5] + Array("READY".utf8) + [1, 0x41, 0, 0, 0, 2, 1, 2])
    }

    @Test func errorPingPongUnknown() throws {
        #expect(try decode(ZMTPCommand.error(reason: Array("bad".utf8)).body) == .error(reason: Array("bad".utf8)))
        let ping = ZMTPCommand.ping(ttl: 300, context: [9, 8])
        #expect(ping.body == [4] + Array("PING".utf8) + [1, 44, 9, 8])
        #expect(try decode(ping.body) == ping)
        #expect(try decode(ZMTPCommand.pong(context: [7]).body) == .pong(context: [7]))
        #expect(try decode([3, 0x41, 0x42, 0x43, 1, 2]) == .unknown(name: Array("ABC".utf8), data: [1, 2]))
        #expect(try decode([0]) == .unknown(name: [], data: []))
    }

    @Test func malformedBodiesThrow() {
        let bad: [[UInt8]] = [
            [],                                               // no name length
            [6] + Array("READY".utf8),                        // name overruns
            [5] + Array("READY".utf8) + [3, 0x41],            // property name overruns
            [5] + Array("READY".utf8) + [1, 0x41, 0, 0, 0],   // value length truncated
            [5] + Array("READY".utf8) + [1, 0x41, 0xFF, 0xFF, 0xFF, 0xFF, 1],  // value overruns
            [5] + Array("ERROR".utf8),                        // no reason length
            [5] + Array("ERROR".utf8) + [4, 0x41],            // reason overruns
            [4] + Array("PING".utf8) + [1],                   // TTL truncated
        ]
        for body in bad {
            let error = #expect(throws: ZMTPProtocolError.self) { try decode(body) }
            #expect(error?.code == .malformedCommand)
        }
    }

    @Test func longCommandUsesEightByteSize() {
        let ready = ZMTPCommand.ready([.init("X-Big", [UInt8](repeating: 7, count: 300))])
        let frame = ready.encoded
        #expect(frame[0] == 0x06)
        #expect(Array(frame[1..<9]) == [0, 0, 0, 0, 0, 0, 0x01, UInt8(ready.body.count - 256)])
        #expect(frame.count == 9 + ready.body.count)
        #expect(ZMTPCommand.pong(context: []).encoded == [0x04, 5, 4] + Array("PONG".utf8))
    }

    @Test func frameHeaders() {
        #expect(ZMTPFrame.encode([1, 2], more: true) == [0x01, 2, 1, 2])
        #expect(ZMTPFrame.encode([UInt8](), more: false) == [0x00, 0])
        let long = ZMTPFrame.encode([UInt8](repeating: 0, count: 256), more: false)
        #expect(Array(long[0..<9]) == [0x02, 0, 0, 0, 0, 0, 0, 1, 0])
        var buffer = [UInt8](repeating: 0xAA, count: 9)
        let n = buffer.withUnsafeMutableBytes { ZMTPFrame.writeHeader(into: $0, size: 70_000, more: true) }
        #expect(n == 9 && buffer == [0x03, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70])
    }
}

@Suite struct ZMTPEndpointTests {
    @Test func parsesTCPAndIPC() throws {
        #expect(try ZMTPEndpoint(parsing: "tcp://127.0.0.1:5555") == .tcp(host: "127.0.0.1", port: 5555, family: 2))
        #expect(try ZMTPEndpoint(parsing: "tcp://localhost:1") == .tcp(host: "127.0.0.1", port: 1, family: 2))
        #expect(try ZMTPEndpoint(parsing: "tcp://[::1]:80") == .tcp(host: "::1", port: 80, family: 10))
        #expect(try ZMTPEndpoint(parsing: "ipc:///tmp/k-1") == .ipc(path: "/tmp/k-1"))
        #expect(try ZMTPEndpoint(parsing: "ipc://kernel-7-1") == .ipc(path: "kernel-7-1"))
        #expect(try ZMTPEndpoint(parsing: "tcp://[::1]:80").description == "tcp://[::1]:80")
    }

    @Test func refusesBadEndpointsWithAReason() {
        let bad = ["", "udp://1.2.3.4:5", "tcp://127.0.0.1", "tcp://127.0.0.1:0", "tcp://127.0.0.1:70000",
                   "tcp://example.com:80", "tcp://*:5555", "tcp://:5", "ipc://", "tcp://[::1:80", "tcp://1.2.3.4:x",
                   "ipc:///" + String(repeating: "a", count: 107)]
        for text in bad {
            #expect(throws: ZMTPEndpoint.ParseError.self, "\(text)") { try ZMTPEndpoint(parsing: text) }
        }
        #expect(throws: Never.self) { try ZMTPEndpoint(parsing: "ipc://" + String(repeating: "a", count: 107)) }
        let error = #expect(throws: ZMTPEndpoint.ParseError.self) { try ZMTPEndpoint(parsing: "ipc:///" + String(repeating: "a", count: 200)) }
        #expect(error?.reason.contains("107") == true)
    }
}
