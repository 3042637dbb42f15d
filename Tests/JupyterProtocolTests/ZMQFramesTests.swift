import Testing
@testable import JupyterProtocol

@Suite struct ZMQFramesTests {
    @Test func rebuildsJupyterClientFrameListsByteForByte() throws {
        for item in Fixtures.shared.signing {
            let frames = item.frames.map(b64)
            let layout = try ZMQFrameLayout.parse(frames)
            #expect(layout.frameCount == frames.count)
            let signer = try HMACSigner(key: b64(item.key))
            let rebuilt = try withRawViews(frames) { views -> [[UInt8]] in
                let parts = layout.parts(of: views)
                let signature = try signer.sign(parts)
                var out: [[UInt8]] = []
                var mores: [Bool] = []
                ZMQFrames.forEachFrame(identities: Array(views[layout.identities]), signature: signature, parts: parts) { frame, more in
                    out.append(Array(frame))
                    mores.append(more)
                }
                #expect(mores == Array(repeating: true, count: out.count - 1) + [false])
                #expect(out.count == ZMQFrames.frameCount(identities: layout.identities.count, buffers: layout.buffers.count))
                return out
            }
            #expect(rebuilt == frames)
        }
    }

    @Test func parseFindsDelimiterAndBuffers() throws {
        let frames = [utf8("id1"), utf8("id2"), utf8("<IDS|MSG>"), utf8("sig"), utf8("{}"), utf8("{}"), utf8("{}"), utf8("{}"), [1, 2], [3]]
        let layout = try ZMQFrameLayout.parse(frames)
        #expect(layout.identities == 0..<2)
        #expect(layout.delimiter == 2 && layout.signature == 3 && layout.header == 4 && layout.content == 7)
        #expect(layout.buffers == 8..<10)
        let viaViews = try withRawViews(frames) { v in try ZMQFrameLayout.parse(v) }
        #expect(viaViews == layout)
    }

    @Test func parseRejectsMalformedLists() {
        let noDelimiter = [utf8("a"), utf8("b"), utf8("c"), utf8("d"), utf8("e"), utf8("f")]
        let tooShort = [utf8("<IDS|MSG>"), utf8("sig"), utf8("{}"), utf8("{}"), utf8("{}")]
        let nearMiss = [utf8("<IDS|MSG"), utf8("sig"), utf8("{}"), utf8("{}"), utf8("{}"), utf8("{}")]
        for frames in [noDelimiter, tooShort, nearMiss, []] {
            let error = #expect(throws: ProtocolError.self) { try ZMQFrameLayout.parse(frames) }
            #expect(error?.code == .invalidFrameList)
            let viewError = #expect(throws: ProtocolError.self) { try withRawViews(frames) { v in try ZMQFrameLayout.parse(v) } }
            #expect(viewError?.code == .invalidFrameList)
        }
    }
}
