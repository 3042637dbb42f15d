import Testing
@testable import HTTPServer

@Suite struct UTF8ValidatorTests {
    /// Reference: the standard library's strict decoder (rejects overlongs, surrogates, > U+10FFFF).
    private func reference(_ bytes: [UInt8]) -> Bool {
        String(validating: bytes, as: UTF8.self) != nil
    }

    @Test func acceptsEveryScalarEncoding() {
        var validator = UTF8Validator()
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let bytes = Array(String(Character(scalar)).utf8)
            validator.reset()
            #expect(validator.feed(bytes) && validator.isComplete, "U+\(String(value, radix: 16)) rejected")
            if !validator.isComplete { return }
        }
    }

    @Test func matchesReferenceOnAllOneAndTwoByteSequences() {
        for a in 0...255 {
            #expect(UTF8Validator.isValid([UInt8(a)]) == reference([UInt8(a)]))
            for b in 0...255 {
                let bytes = [UInt8(a), UInt8(b)]
                let ok = UTF8Validator.isValid(bytes) == reference(bytes)
                #expect(ok, "mismatch on \(bytes)")
                if !ok { return }
            }
        }
    }

    @Test func matchesReferenceOnAllThreeByteSequencesWithLeadE0toEF() {
        var mismatches = 0
        for a in 0xE0...0xEF {
            for b in 0...255 {
                for c in 0...255 {
                    let bytes = [UInt8(a), UInt8(b), UInt8(c)]
                    if UTF8Validator.isValid(bytes) != reference(bytes) { mismatches += 1 }
                }
            }
        }
        #expect(mismatches == 0)
    }

    @Test func matchesReferenceOnFourByteSequencesAtRangeEdges() {
        let edges: [UInt8] = [0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF]
        var mismatches = 0
        for a in 0xF0...0xFF {
            for b in 0...255 {
                for c in edges {
                    for d in edges {
                        let bytes = [UInt8(a), UInt8(b), c, d]
                        if UTF8Validator.isValid(bytes) != reference(bytes) { mismatches += 1 }
                    }
                }
            }
        }
        #expect(mismatches == 0)
    }

    @Test(arguments: [
        ([0xC0, 0x80], "overlong NUL"),
        ([0xC1, 0xBF], "overlong 2-byte"),
        ([0xE0, 0x80, 0x80], "overlong 3-byte"),
        ([0xE0, 0x9F, 0xBF], "overlong U+07FF"),
        ([0xF0, 0x8F, 0xBF, 0xBF], "overlong 4-byte"),
        ([0xED, 0xA0, 0x80], "high surrogate"),
        ([0xED, 0xBF, 0xBF], "low surrogate"),
        ([0xF4, 0x90, 0x80, 0x80], "above U+10FFFF"),
        ([0xF5, 0x80, 0x80, 0x80], "F5 lead"),
        ([0xFF], "FF"),
        ([0x80], "lone continuation"),
        ([0xE2, 0x82], "truncated"),
        ([0x61, 0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64], "Autobahn 6.6-style surrogate after text"),
    ] as [([UInt8], String)])
    func rejects(bytes: [UInt8], label: String) {
        #expect(!UTF8Validator.isValid(bytes), "\(label) accepted")
    }

    @Test(arguments: [
        [0xEF, 0xBF, 0xBF], [0xF4, 0x8F, 0xBF, 0xBF], [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80],
        [0xF0, 0x90, 0x80, 0x80], [0xC2, 0x80], [0xDF, 0xBF], [0x00], [0x7F], [],
    ] as [[UInt8]])
    func acceptsBoundaries(bytes: [UInt8]) {
        #expect(UTF8Validator.isValid(bytes))
    }

    @Test func streamingAgreesWithWholeAtEverySplit() {
        let samples: [[UInt8]] = [
            Array("κόσμε héllo 𝄞 ascii only text that is long enough for the 8-byte path".utf8),
            Array("abcdefghijklmnop".utf8) + [0xED, 0xA0, 0x80] + Array("qrstuvwxyz".utf8),
            Array("abcdefgh".utf8) + [0xF0, 0x9F, 0x98],
            [0xF4, 0x8F, 0xBF, 0xBF, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0xC3, 0xA9],
        ]
        for sample in samples {
            let whole = UTF8Validator.isValid(sample)
            #expect(whole == reference(sample))
            for split in 0...sample.count {
                for second in split...sample.count {
                    var validator = UTF8Validator()
                    let ok = validator.feed(sample[0..<split]) && validator.feed(sample[split..<second])
                        && validator.feed(sample[second...]) && validator.isComplete
                    #expect(ok == whole, "split \(split)/\(second) of \(sample)")
                }
            }
        }
    }

    @Test func failureIsSticky() {
        var validator = UTF8Validator()
        let first = validator.feed([0xFF])
        let second = validator.feed(Array("fine".utf8))
        #expect(!first)
        #expect(!second)
        #expect(!validator.isComplete)
        #expect(validator.hasFailed)
    }

    @Test func incompleteSequenceIsNotComplete() {
        var validator = UTF8Validator()
        let head = validator.feed([0xE2, 0x82])
        #expect(head)
        #expect(!validator.isComplete)
        let tail = validator.feed([0xAC])
        #expect(tail)
        #expect(validator.isComplete)
    }
}
