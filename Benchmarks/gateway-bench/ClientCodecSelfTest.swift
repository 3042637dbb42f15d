import HTTPServer

/// `gateway-bench load --self-test`: checks the client codec against the gateway's server codec (wslay) in
/// memory — masked client frames of every length class decode on the server; server frames, whole and split
/// into arbitrary reads, decode on the client; ping/pong, the closing handshake, and protocol violations the
/// client must reject. Prints one line per failure and a final `N passed, M failed`; exit status 1 on failure.
enum ClientCodecSelfTest {
    static func run() -> Int32 {
        var passed = 0
        var failed = 0
        func check(_ ok: Bool, _ what: String) {
            if ok { passed += 1 } else {
                failed += 1
                print("FAIL: \(what)")
            }
        }
        let sizes = [0, 1, 7, 8, 9, 125, 126, 127, 1000, 65_535, 65_536, 70_000, 1 << 20]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func payload(_ n: Int, text: Bool) -> [UInt8] {
            (0..<n).map { _ in
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                let byte = UInt8(truncatingIfNeeded: seed >> 33)
                return text ? 0x20 + byte % 0x5F : byte
            }
        }

        // Masking is an involution and matches the per-byte definition.
        for n in 0..<24 {
            let original = payload(n, text: false)
            var masked = original
            let key: UInt32 = 0xA1B2_C3D4
            masked.withUnsafeMutableBytes { ClientWebSocketCodec.mask($0, key: key) }
            let expected = original.enumerated().map { i, b in b ^ withUnsafeBytes(of: key) { $0[i & 3] } }
            check(masked == expected, "mask of \(n) bytes")
            masked.withUnsafeMutableBytes { ClientWebSocketCodec.mask($0, key: key) }
            check(masked == original, "unmask of \(n) bytes")
        }

        // Client -> server, every length encoding, text and binary.
        for size in sizes {
            for text in [true, false] {
                guard let server = try? WslayWebSocketCodec(configuration: .init(maxMessageBytes: 4 << 20)) else {
                    check(false, "server codec init")
                    continue
                }
                let client = ClientWebSocketCodec()
                let data = payload(size, text: text)
                data.withUnsafeBytes { text ? client.appendText($0) : client.appendBinary($0) }
                check(client.output.count >= size + 6 && client.output[1] & 0x80 != 0, "client frame of \(size) is masked")
                var events: [WebSocketEvent] = []
                client.output.withUnsafeBytes { server.receive($0, into: &events) }
                check(events == [.message(WebSocketMessage(kind: text ? .text : .binary, payload: data))],
                      "server decodes a client \(text ? "text" : "binary") frame of \(size) bytes")
            }
        }

        // Server -> client, whole and in uneven reads.
        for size in sizes {
            guard let server = try? WslayWebSocketCodec() else { continue }
            let data = payload(size, text: true)
            do throws(WebSocketCodecError) {
                try server.send(.text, payload: data)
            } catch {
                check(false, "server send \(size): \(error)")
                continue
            }
            let wire = server.withPendingOutput { Array($0) }
            for chunk in [Int.max, 1, 3, 1000] {
                let client = ClientWebSocketCodec()
                var got: [[UInt8]] = []
                var failure: ClientWebSocketError?
                var offset = 0
                while offset < wire.count && failure == nil {
                    let end = chunk == Int.max ? wire.count : min(wire.count, offset + chunk)
                    do throws(ClientWebSocketError) {
                        try client.receive(Array(wire[offset..<end])) { event in
                            if case .text(let p) = event { got.append(Array(p)) }
                        }
                    } catch {
                        failure = error
                    }
                    offset = end
                }
                check(failure == nil && got == [data], "client decodes a server frame of \(size) bytes in \(chunk == Int.max ? "one read" : "\(chunk)-byte reads")")
            }
        }

        // Ping -> pong, and the closing handshake started by the client.
        if let server = try? WslayWebSocketCodec() {
            let client = ClientWebSocketCodec()
            let ping: [UInt8] = [1, 2, 3]
            try? server.sendPing(ping)
            let wire = server.withPendingOutput { Array($0) }
            server.consumeOutput(wire.count)
            try? client.receive(wire) { _ in }
            var events: [WebSocketEvent] = []
            client.output.withUnsafeBytes { server.receive($0, into: &events) }
            client.consumeOutput(client.output.count)
            check(events == [.pong(ping)], "client answers a ping with its payload")
            client.appendClose(code: 1000)
            events = []
            client.output.withUnsafeBytes { server.receive($0, into: &events) }
            check(events == [.closeReceived(code: .normalClosure, reason: "")], "server sees the client's close")
            let echo = server.withPendingOutput { Array($0) }
            var closed: UInt16?
            try? client.receive(echo) { if case .close(let code) = $0 { closed = code } }
            check(closed == 1000 && client.closeReceived && client.closeSent, "client completes the closing handshake")
        }

        // Violations the client must reject, with the right close code.
        let violations: [([UInt8], UInt16, String)] = [
            ([0x81, 0x81, 1, 2, 3, 4, 0x41], 1002, "masked server frame"),
            ([0xC1, 0x01, 0x41], 1002, "RSV1 set without an extension"),
            ([0x83, 0x00], 1002, "reserved opcode"),
            ([0x09, 0x00], 1002, "fragmented ping"),
            ([0x89, 0x7E, 0x00, 0x7E] + [UInt8](repeating: 0, count: 126), 1002, "ping longer than 125 bytes"),
            ([0x80, 0x01, 0x41], 1002, "continuation without a message"),
            ([0x81, 0x02, 0xC3, 0x28], 1007, "invalid UTF-8 text"),
            ([0x88, 0x01, 0x03], 1002, "1-byte close payload"),
            ([0x01, 0x01, 0x41, 0x81, 0x01, 0x42], 1002, "new message inside a fragmented one"),
        ]
        for (bytes, code, name) in violations {
            let client = ClientWebSocketCodec()
            var caught: UInt16?
            do throws(ClientWebSocketError) {
                try client.receive(bytes) { _ in }
            } catch {
                caught = error.code
            }
            check(caught == code, "rejects \(name) with \(code) (got \(caught.map(String.init) ?? "nothing"))")
        }

        // Fragmented server message reassembles, with a ping between fragments answered.
        do {
            let client = ClientWebSocketCodec()
            let bytes: [UInt8] = [0x01, 0x02, 0x48, 0x65, 0x89, 0x00, 0x80, 0x03, 0x6C, 0x6C, 0x6F]
            var got: [UInt8] = []
            try? client.receive(bytes) { if case .text(let p) = $0 { got = Array(p) } }
            check(got == Array("Hello".utf8) && client.output.count == 6, "fragmented message with an interleaved ping")
        }

        print("\(passed) passed, \(failed) failed")
        return failed == 0 ? 0 : 1
    }
}
