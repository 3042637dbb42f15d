import Foundation
import Testing
@testable import HTTPServer

/// Cross-checks against frames and accept values produced by reference implementations
/// (websocket-client's encoder, hashlib); see Fixtures/generate_websocket_fixtures.py.
@Suite struct ReferenceFixtureTests {
    private struct Fixtures: Decodable {
        struct Frame: Decodable {
            let opcode: Int
            let fin: Bool
            let payload: String
            let frame: String
        }
        struct Accept: Decodable {
            let key: String
            let accept: String
        }
        let frames: [Frame]
        let accepts: [Accept]
    }

    private func load() throws -> Fixtures {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/websocket_fixtures.json")
        return try JSONDecoder().decode(Fixtures.self, from: Data(contentsOf: url))
    }

    private func hex(_ text: String) throws -> [UInt8] {
        let digits = Array(text.utf8)
        try #require(digits.count % 2 == 0)
        return try stride(from: 0, to: digits.count, by: 2).map { index in
            try #require(UInt8(String(decoding: digits[index..<(index + 2)], as: UTF8.self), radix: 16))
        }
    }

    @Test func acceptValuesMatchReference() throws {
        let fixtures = try load()
        #expect(fixtures.accepts.count >= 4)
        for item in fixtures.accepts {
            #expect(WebSocketHandshake.acceptValue(forKey: item.key) == item.accept, "key \(item.key)")
        }
    }

    @Test func referenceClientFramesDecode() throws {
        let fixtures = try load()
        #expect(fixtures.frames.count >= 12)
        for item in fixtures.frames {
            let codec = try WslayWebSocketCodec()
            let payload = try hex(item.payload)
            let events = codec.receive(try hex(item.frame))
            let kind: WebSocketMessage.Kind = item.opcode == 1 ? .text : .binary
            #expect(events == [.message(WebSocketMessage(kind: kind, payload: payload))], "opcode \(item.opcode), \(payload.count) bytes")
        }
    }

    @Test func ownTestFrameBuilderMatchesReferenceEncoder() throws {
        // Guards the hand-written ClientFrame helper used by the other codec tests.
        let fixtures = try load()
        for item in fixtures.frames {
            let built = ClientFrame.make(UInt8(item.opcode), try hex(item.payload), mask: [0x5A, 0xA5, 0x0F, 0xF0])
            #expect(built == (try hex(item.frame)))
        }
    }
}
