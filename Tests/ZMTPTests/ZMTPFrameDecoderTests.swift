import Testing
@testable import ZMTP

/// Feeds `bytes` to a decoder in chunks of `chunk` bytes and records what it yields.
func decodeAll(_ bytes: [UInt8], chunk: Int = .max, limits: ZMTPLimits = ZMTPLimits()) -> (outputs: [DecoderOutput], error: ZMTPProtocolError?) {
    var decoder = ZMTPFrameDecoder(limits: limits)
    var outputs: [DecoderOutput] = []
    var start = 0
    while start < bytes.count {
        let end = min(bytes.count, start + max(1, chunk))
        let piece = Array(bytes[start..<end])
        start = end
        var offset = 0
        while offset < piece.count {
            let result = piece.withUnsafeBytes { raw in
                Result { () throws(ZMTPProtocolError) in try decoder.decode(UnsafeRawBufferPointer(rebasing: raw[offset...])) }
            }
            switch result {
            case .failure(let error): return (outputs, error)
            case .success(let step):
                #expect(step.consumed > 0 || step.output != nil)
                offset += step.consumed
                switch step.output {
                case .message: outputs.append(.message(decoder.frames))
                case .command(let c): outputs.append(.command(c))
                case nil: break
                }
            }
        }
    }
    return (outputs, nil)
}

enum DecoderOutput: Equatable {
    case message([[UInt8]])
    case command(ZMTPCommand)
}

func encodeMessage(_ frames: [[UInt8]]) -> [UInt8] {
    frames.enumerated().flatMap { i, f in ZMTPFrame.encode(f, more: i < frames.count - 1) }
}

@Suite struct ZMTPFrameDecoderTests {
    let stream: [UInt8] = encodeMessage([[1], [], Array(repeating: 5, count: 300)])
        + ZMTPCommand.ping(ttl: 1, context: [1]).encoded
        + encodeMessage([[9]])
    let expected: [DecoderOutput] = [
        .message([[1], [], Array(repeating: 5, count: 300)]),
        .command(.ping(ttl: 1, context: [1])),
        .message([[9]]),
    ]

    @Test func decodesMessagesAndCommandsInAnyChunking() {
        for chunk in [1, 2, 3, 7, 64, 301, 10_000] {
            let result = decodeAll(stream, chunk: chunk)
            #expect(result.error == nil)
            #expect(result.outputs == expected, "chunk \(chunk)")
        }
    }

    @Test func longFormWithSmallSizeIsAccepted() {
        let bytes: [UInt8] = [0x02, 0, 0, 0, 0, 0, 0, 0, 2, 7, 8]
        #expect(decodeAll(bytes).outputs == [.message([[7, 8]])])
    }

    @Test func reservedBitsAndCommandWithMoreAreMalformed() {
        #expect(decodeAll([0x08, 0]).error?.code == .malformedFrame)
        #expect(decodeAll([0x80, 0]).error?.code == .malformedFrame)
        #expect(decodeAll([0x05, 0]).error?.code == .malformedFrame)
    }

    @Test func commandInsideAMessageIsUnexpected() {
        let bytes = ZMTPFrame.encode([1], more: true) + ZMTPCommand.pong(context: []).encoded
        #expect(decodeAll(bytes).error?.code == .unexpected)
    }

    @Test func hugeAnnouncedSizesAreRefusedBeforeAnyBody() {
        // 2^63 and more: not representable.
        #expect(decodeAll([0x02, 0x80, 0, 0, 0, 0, 0, 0, 0]).error?.code == .malformedFrame)
        #expect(decodeAll([0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]).error?.code == .malformedFrame)
        // 1 TiB: over the default 256 MiB.
        #expect(decodeAll([0x02, 0, 0, 1, 0, 0, 0, 0, 0]).error?.code == .messageTooLarge)
        #expect(decodeAll([0x06, 0, 0, 0, 0, 0, 1, 0, 1]).error?.code == .commandTooLarge)
    }

    @Test func messageLimitCountsAllFrames() {
        let limits = ZMTPLimits(maxMessageBytes: 10, maxFramesPerMessage: 3, maxCommandBytes: 8)
        #expect(decodeAll(encodeMessage([[UInt8](repeating: 0, count: 10)]), limits: limits).error == nil)
        #expect(decodeAll(encodeMessage([[UInt8](repeating: 0, count: 6), [UInt8](repeating: 0, count: 5)]), limits: limits).error?.code == .messageTooLarge)
        // The budget starts over with each message.
        let two = encodeMessage([[UInt8](repeating: 0, count: 6)]) + encodeMessage([[UInt8](repeating: 0, count: 6)])
        #expect(decodeAll(two, limits: limits).outputs.count == 2)
        #expect(decodeAll(encodeMessage([[], [], []]), limits: limits).error == nil)
        #expect(decodeAll(encodeMessage([[], [], [], []]), limits: limits).error?.code == .tooManyFrames)
        // PONG body: name length, "PONG", context.
        #expect(decodeAll(ZMTPCommand.pong(context: [1, 2, 3]).encoded, limits: limits).error == nil)
        #expect(decodeAll(ZMTPCommand.pong(context: [1, 2, 3, 4]).encoded, limits: limits).error?.code == .commandTooLarge)
    }

    @Test func malformedCommandBodyIsReported() {
        #expect(decodeAll([0x04, 1, 9]).error?.code == .malformedCommand)
    }

    @Test func frameStorageIsReusedBetweenMessages() {
        var decoder = ZMTPFrameDecoder()
        let first = encodeMessage([[UInt8](repeating: 1, count: 1000), [2]])
        let second = encodeMessage([[3]])
        first.withUnsafeBytes { raw in
            let step = try? decoder.decode(raw)
            #expect(step?.output == .message && step?.consumed == first.count)
        }
        let capacity = decoder.frames[0].capacity
        second.withUnsafeBytes { raw in _ = try? decoder.decode(raw) }
        #expect(decoder.frames == [[3]])
        #expect(decoder.frames[0].capacity == capacity)
        #expect(decoder.isAtBoundary)
    }

    @Test func aKeptMessageIsNotOverwritten() {
        var decoder = ZMTPFrameDecoder()
        let bytes = encodeMessage([[1, 1]]) + encodeMessage([[2, 2]])
        bytes.withUnsafeBytes { raw in
            let step = try? decoder.decode(raw)
            let kept = decoder.frames
            _ = try? decoder.decode(UnsafeRawBufferPointer(rebasing: raw[(step?.consumed ?? 0)...]))
            #expect(kept == [[1, 1]])
            #expect(decoder.frames == [[2, 2]])
        }
    }
}
