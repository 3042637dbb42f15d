import Foundation
import Testing
@testable import JupyterProtocol

/// Deterministic generator (SplitMix64) so failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct MalformedInputTests {
    static let interesting: [UInt8] = [
        0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 0x00, 0x1F, 0x20, 0x7F, 0x80, 0xBF, 0xC0, 0xC2, 0xE0,
        0xED, 0xF0, 0xF4, 0xF5, 0xFF, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "-"), UInt8(ascii: "e"),
        UInt8(ascii: "n"), UInt8(ascii: "t"),
    ]

    /// Valid frames of every kind to start mutating from.
    static func seeds() throws -> [(kind: String, bytes: [UInt8])] {
        var seeds: [(String, [UInt8])] = []
        for item in Fixtures.shared.legacy_in { seeds.append((item.kind, b64(item.frame))) }
        for item in Fixtures.shared.v1_out { seeds.append(("v1", b64(item.expected))) }
        for item in Fixtures.shared.legacy_out { seeds.append((item.kind, b64(item.expected))) }
        for item in Fixtures.shared.signing.prefix(9) { seeds.append(("header", b64(item.frames[item.identities + 2]))) }
        return seeds
    }

    static func mutate(_ input: [UInt8], kind: String, _ rng: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        let rounds = Int.random(in: 1...4, using: &rng)
        for _ in 0..<rounds {
            guard !bytes.isEmpty else { bytes = [interesting.randomElement(using: &rng) ?? 0]; continue }
            let i = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<9, using: &rng) {
            case 0: bytes[i] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            case 1: bytes[i] = interesting.randomElement(using: &rng) ?? 0
            case 2: bytes.removeSubrange(i...)  // truncate
            case 3: bytes.removeSubrange(i..<min(bytes.count, i + Int.random(in: 1...16, using: &rng)))
            case 4: bytes.insert(contentsOf: bytes[i..<min(bytes.count, i + Int.random(in: 1...16, using: &rng))], at: i)
            case 5: bytes.insert(interesting.randomElement(using: &rng) ?? 0, at: i)
            case 6: bytes[i] = UInt8.random(in: 0...255, using: &rng)
            default:
                // Corrupt the offset table region of binary frames with boundary values.
                let width = kind == "v1" ? 8 : 4
                let slots = min(bytes.count / width, 12)
                guard slots > 0 else { continue }
                let slot = Int.random(in: 0..<slots, using: &rng) * width
                let values: [UInt64] = [0, 1, 5, 6, 7, UInt64(bytes.count), UInt64(bytes.count) + 1, UInt64(bytes.count) - 1,
                                        0x7FFF_FFFF, 0xFFFF_FFFF, UInt64.max, 1 << 61, UInt64.random(in: 0...UInt64(bytes.count + 64), using: &rng)]
                var v = values.randomElement(using: &rng) ?? 0
                for k in 0..<width where slot + k < bytes.count {
                    let index = kind == "v1" ? slot + k : slot + width - 1 - k  // little- vs big-endian
                    bytes[index] = UInt8(truncatingIfNeeded: v)
                    v >>= 8
                }
            }
        }
        return bytes
    }

    /// Every range a successful decode reports must lie inside the frame and hold a valid JSON object.
    static func checkLayout(_ layout: WebSocketMessageLayout, _ bytes: [UInt8], validated: Bool) {
        let all = 0..<bytes.count
        var ranges = [layout.header, layout.content]
        if let p = layout.parentHeader { ranges.append(p) }
        if let m = layout.metadata { ranges.append(m) }
        for (i, r) in ranges.enumerated() {
            #expect(r.clamped(to: all) == r && r.count >= 2)
            guard validated || i == 0 else { continue }
            let ok = bytes.withUnsafeBytes { raw in (try? JSONScanner(raw, range: r).validateDocument()) == r }
            #expect(ok)
            #expect(bytes[r.lowerBound] == UInt8(ascii: "{"))
        }
        for r in layout.buffers { #expect(r.clamped(to: all) == r) }
        for token in [layout.headerFields.msgID, layout.headerFields.msgType, layout.headerFields.session, layout.headerFields.username] {
            if let token { #expect(token.range.clamped(to: layout.header) == token.range) }
        }
    }

    @Test func thousandsOfMutatedFramesNeverCrashAndFailCleanly() throws {
        var rng = SeededGenerator(state: 0x5EED_1234)
        let seeds = try MalformedInputTests.seeds()
        var errors = 0
        var successes = 0
        var codes = Set<String>()
        let iterations = 6000
        for n in 0..<iterations {
            let seed = seeds[n % seeds.count]
            let bytes = MalformedInputTests.mutate(seed.bytes, kind: seed.kind, &rng)
            var outcomes: [Result<WebSocketMessageLayout, ProtocolError>] = []
            outcomes.append(Result { () throws(ProtocolError) in try LegacyWebSocketCodec.decode(text: bytes) })
            outcomes.append(Result { () throws(ProtocolError) in try LegacyWebSocketCodec.decode(binary: bytes) })
            outcomes.append(Result { () throws(ProtocolError) in try V1WebSocketCodec.decode(bytes) })
            outcomes.append(Result { () throws(ProtocolError) in try V1WebSocketCodec.decode(bytes, validateParts: false) })
            for (which, outcome) in outcomes.enumerated() {
                switch outcome {
                case .success(let layout):
                    successes += 1
                    MalformedInputTests.checkLayout(layout, bytes, validated: which != 3)
                case .failure(let error):
                    errors += 1
                    codes.insert("\(error.code)")
                    #expect(!error.message.isEmpty)
                    if let offset = error.offset { #expect(offset >= 0 && offset <= bytes.count + 8) }
                }
            }
            let scanned = bytes.withUnsafeBytes { raw in Result { () throws(ProtocolError) in try JSONScanner(raw).validateDocument() } }
            if case .success = scanned {
                // Anything the scanner accepts is JSON to Foundation as well (we are the stricter one).
                #expect(foundationJSON(bytes) != nil, "\(String(decoding: bytes, as: UTF8.self))")
            }
            _ = try? HeaderFields.scan(bytes)
            // ZeroMQ frame lists: split the bytes into frames at random points.
            var frames: [[UInt8]] = []
            var rest = bytes[...]
            while !rest.isEmpty && frames.count < 12 {
                let cut = Int.random(in: 0...rest.count, using: &rng)
                frames.append(Array(rest.prefix(cut)))
                rest = rest.dropFirst(cut)
            }
            if Bool.random(using: &rng) { frames.insert(Array(ZMQFrames.delimiterBytes), at: Int.random(in: 0...frames.count, using: &rng)) }
            if let layout = try? ZMQFrameLayout.parse(frames) {
                #expect(layout.buffers.upperBound == frames.count && layout.content < frames.count)
            }
        }
        // The corpus exercises both outcomes and a variety of failure kinds.
        #expect(errors > iterations)
        #expect(successes > 100)
        #expect(codes.count >= 8, "\(codes)")
    }

    @Test func everyTruncationOfEveryFrameIsRejected() throws {
        // A frame cut anywhere before its end is never accepted by the decoder for its kind. The legacy
        // binary format cannot tell a shortened last buffer (it runs to the end of the frame), so there
        // only cuts before the last part must fail, and cuts inside it shorten that buffer.
        for seed in try MalformedInputTests.seeds() where seed.kind != "header" {
            var lastPartStart = seed.bytes.count
            if seed.kind == "binary" {
                let full = try LegacyWebSocketCodec.decode(binary: seed.bytes)
                lastPartStart = full.buffers.last?.lowerBound ?? seed.bytes.count
            }
            for length in 0..<seed.bytes.count {
                let cut = Array(seed.bytes.prefix(length))
                switch seed.kind {
                case "text": #expect(throws: ProtocolError.self) { try LegacyWebSocketCodec.decode(text: cut) }
                case "binary" where length < lastPartStart:
                    #expect(throws: ProtocolError.self) { try LegacyWebSocketCodec.decode(binary: cut) }
                case "binary":
                    #expect(try LegacyWebSocketCodec.decode(binary: cut).buffers.last == lastPartStart..<length)
                default: #expect(throws: ProtocolError.self) { try V1WebSocketCodec.decode(cut) }
                }
            }
        }
    }
}
