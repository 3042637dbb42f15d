import Testing
@testable import ZMTP

/// Deterministic generator (SplitMix64) so a failing case can be replayed from its seed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Feeds `bytes` in random chunks; checks the invariants that hold for any input and returns the actions.
func feedChunked(_ bytes: [UInt8], type: ZMTPSocketType, limits: ZMTPLimits, rng: inout SplitMix) -> [ZMTPConnection.Action] {
    var c = ZMTPConnection(socketType: type, identity: [1, 2], limits: limits)
    var actions = c.handle(.connected)
    var start = 0
    while start < bytes.count {
        let end = min(bytes.count, start + Int.random(in: 1...97, using: &rng))
        actions += c.handle(.received(Array(bytes[start..<end])))
        start = end
    }
    // At most one failure, and nothing after it.
    let failures = actions.indices.filter { if case .fail = actions[$0] { true } else { false } }
    #expect(failures.count <= 1)
    if let index = failures.first { #expect(index == actions.count - 1) }
    for case .deliver(let frames) in actions {
        #expect(frames.count <= limits.maxFramesPerMessage)
        #expect(frames.reduce(0) { $0 + $1.count } <= limits.maxMessageBytes)
    }
    return actions
}

func randomValidTraffic(_ rng: inout SplitMix) -> [UInt8] {
    var bytes = peerHandshake("ROUTER")
    for _ in 0..<Int.random(in: 0...6, using: &rng) {
        switch Int.random(in: 0..<5, using: &rng) {
        case 0:
            bytes += ZMTPCommand.ping(ttl: .random(in: 0...100, using: &rng), context: [UInt8](repeating: 3, count: .random(in: 0...16, using: &rng))).encoded
        case 1:
            bytes += ZMTPCommand.unknown(name: Array("X".utf8), data: [1, 2]).encoded
        default:
            let frames = (0..<Int.random(in: 1...5, using: &rng)).map { _ in
                (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            bytes += encodeMessage(frames)
        }
    }
    return bytes
}

@Suite struct ZMTPFuzzTests {
    let limits = ZMTPLimits(maxMessageBytes: 2_000, maxFramesPerMessage: 8, maxCommandBytes: 64)

    @Test func validTrafficDecodesTheSameInAnyChunking() {
        var rng = SplitMix(state: 1)
        for _ in 0..<500 {
            let bytes = randomValidTraffic(&rng)
            var reference = ZMTPConnection(socketType: .dealer, identity: [1, 2], limits: limits)
            let expected = reference.handle(.connected) + reference.handle(.received(bytes))
            #expect(failure(expected) == nil)
            #expect(feedChunked(bytes, type: .dealer, limits: limits, rng: &rng) == expected)
        }
    }

    @Test func mutatedTrafficNeverTraps() {
        var rng = SplitMix(state: 2)
        for _ in 0..<3_000 {
            var bytes = randomValidTraffic(&rng)
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                guard !bytes.isEmpty else { break }
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: bytes[at] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
                case 1: bytes[at] = .random(in: 0...255, using: &rng)
                case 2: bytes.remove(at: at)
                case 3: bytes.insert(.random(in: 0...255, using: &rng), at: at)
                default: bytes.removeLast(Int.random(in: 0...(bytes.count - at), using: &rng))
                }
            }
            let type = ZMTPSocketType.allCases.randomElement(using: &rng) ?? .dealer
            _ = feedChunked(bytes, type: type, limits: limits, rng: &rng)
        }
    }

    @Test func randomFramesAfterAValidHandshakeNeverTrap() {
        var rng = SplitMix(state: 3)
        var failures = 0
        for _ in 0..<2_000 {
            var bytes = peerHandshake("ROUTER")
            for _ in 0..<Int.random(in: 1...20, using: &rng) {
                // Plausible headers with random flags and sizes, including long sizes near the limits.
                let flags = UInt8.random(in: 0...7, using: &rng) | (Int.random(in: 0..<20, using: &rng) == 0 ? 0x10 : 0)
                bytes.append(flags)
                if flags & 0x02 != 0 {
                    let size = UInt64.random(in: 0...UInt64(Int.random(in: 0..<2, using: &rng) == 0 ? 3_000 : UInt64.max), using: &rng)
                    withUnsafeBytes(of: size.bigEndian) { bytes += $0 }
                } else {
                    bytes.append(.random(in: 0...255, using: &rng))
                }
                bytes += (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            let actions = feedChunked(bytes, type: .dealer, limits: limits, rng: &rng)
            if failure(actions) != nil { failures += 1 }
        }
        #expect(failures > 0)
    }

    @Test func purelyRandomBytesNeverTrap() {
        var rng = SplitMix(state: 4)
        for i in 0..<2_000 {
            // Half start with a valid greeting so the frame layer gets random input too.
            var bytes = i % 2 == 0 ? ZMTPGreeting.encoded : []
            bytes += (0..<Int.random(in: 0...400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = feedChunked(bytes, type: .req, limits: limits, rng: &rng)
        }
    }
}
