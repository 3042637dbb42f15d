import Testing
@testable import JupyterProtocol

@Suite struct HMACSignerTests {
    @Test func signaturesMatchJupyterClient() throws {
        let cases = Fixtures.shared.signing
        #expect(cases.count > 20)
        var signers: [[UInt8]: HMACSigner] = [:]
        for item in cases {
            let key = b64(item.key)
            let signer = try signers[key] ?? HMACSigner(key: key)
            signers[key] = signer
            let frames = item.frames.map(b64)
            let layout = try ZMQFrameLayout.parse(frames)
            #expect(layout.identities == 0..<item.identities)
            let signature = try withRawViews(frames) { views in
                try signer.sign(layout.parts(of: views))
            }
            #expect(signature.description == item.signature)
            #expect(signature.count == (key.isEmpty ? 0 : 64))
            #expect(signer.isEnabled == !key.isEmpty)
        }
    }

    @Test func verifyAcceptsGoodAndRejectsTamperedMessages() throws {
        for item in Fixtures.shared.signing where !b64(item.key).isEmpty {
            let signer = try HMACSigner(key: b64(item.key))
            var frames = item.frames.map(b64)
            let layout = try ZMQFrameLayout.parse(frames)
            let good = withRawViews(frames) { v in signer.verify(v[layout.signature], parts: layout.parts(of: v)) }
            #expect(good)
            // Flip one bit in the content, in the signature, and use a wrong-length or upper-case signature.
            frames[layout.content][0] ^= 1
            #expect(!withRawViews(frames) { v in signer.verify(v[layout.signature], parts: layout.parts(of: v)) })
            frames[layout.content][0] ^= 1
            frames[layout.signature][63] ^= 1
            #expect(!withRawViews(frames) { v in signer.verify(v[layout.signature], parts: layout.parts(of: v)) })
            frames[layout.signature][63] ^= 1
            frames[layout.signature] = Array(frames[layout.signature].dropLast())
            #expect(!withRawViews(frames) { v in signer.verify(v[layout.signature], parts: layout.parts(of: v)) })
            frames[layout.signature] = Array(String(decoding: b64(item.frames[layout.signature]), as: UTF8.self).uppercased().utf8)
            #expect(!withRawViews(frames) { v in signer.verify(v[layout.signature], parts: layout.parts(of: v)) })
        }
    }

    @Test func emptyKeyDisablesSigning() throws {
        let signer = try HMACSigner(key: "")
        #expect(!signer.isEnabled)
        let header = utf8("{}")
        let signature = try withRawViews([header]) { v in try signer.sign(header: v[0], parentHeader: v[0], metadata: v[0], content: v[0]) }
        #expect(signature == .empty)
        #expect(signature.bytes.isEmpty)
        #expect(withRawViews([utf8("garbage"), header]) { v in signer.verify(v[0], header: v[1], parentHeader: v[1], metadata: v[1], content: v[1]) })
    }

    @Test func reusedContextGivesIndependentSignatures() throws {
        // Signing A, then B, then A again must give A's signature: the context is fully reset per message.
        let signer = try HMACSigner(key: "secret")
        let a = [utf8("{\"a\":1}"), utf8("{}"), utf8("{}"), utf8("{}")]
        let b = [utf8("{\"b\":2}"), utf8("{\"p\":3}"), utf8("{}"), utf8("{\"c\":[]}")]
        func sign(_ parts: [[UInt8]]) throws -> HMACSignature {
            try withRawViews(parts) { v in try signer.sign(header: v[0], parentHeader: v[1], metadata: v[2], content: v[3]) }
        }
        let first = try sign(a)
        let other = try sign(b)
        #expect(first != other)
        #expect(try sign(a) == first)
        // Concatenation boundaries do not matter to HMAC, as in Python's h.update() chain.
        let shifted = [utf8("{\"a\""), utf8(":1}{}"), utf8("{"), utf8("}{}")]
        #expect(try sign(shifted) == first)
    }
}
