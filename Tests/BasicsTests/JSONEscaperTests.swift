import Basics
import Foundation
import Testing

@Suite struct JSONEscaperTests {
    func text(_ value: String) -> String { String(decoding: JSONEscaper.quoted(value), as: UTF8.self) }

    @Test(arguments: ["", "plain", "quote\" backslash\\ slash/", "\n\r\t\u{8}\u{c}", "\u{0}\u{1}\u{1f}\u{7f}",
                      "é ✓ 😀 \u{2028}\u{2029}", "mixed \"é\"\n\u{1}end", "\u{2028}", "x\u{2029}",
                      "\u{2027}\u{202A}\u{20AC} €‰", String(repeating: "a\u{2028}\"", count: 300)])
    func roundTripsThroughFoundation(_ value: String) throws {
        let token = JSONEscaper.quoted(value)
        let decoded = try JSONSerialization.jsonObject(with: Data(token), options: .fragmentsAllowed) as? String
        #expect(decoded == value)
    }

    @Test func shortFormsForTheUsualControlsAndLowercaseHexForTheRest() {
        #expect(text("\"\\\n\r\t\u{8}\u{c}") == #""\"\\\n\r\t\b\f""#)
        #expect(text("a\u{0}\u{1}\u{1b}\u{1f}z") == #""a\u0000\u0001\u001b\u001fz""#)
    }

    @Test func lineAndParagraphSeparatorsAreEscapedForJavaScript() {
        #expect(text("a\u{2028}b\u{2029}c") == #""a\u2028b\u2029c""#)
        // Their neighbours (E2 80 A7, E2 80 AA) and other E2 sequences pass through as UTF-8.
        #expect(text("\u{2027}\u{202A}€") == "\"\u{2027}\u{202A}€\"")
        // A lead byte at the very end of the input is not read past.
        var out: [UInt8] = []
        [UInt8]([0x61, 0xE2, 0x80]).withUnsafeBytes { JSONEscaper.appendQuoted(utf8: $0, to: &out) }
        #expect(out == [0x22, 0x61, 0xE2, 0x80, 0x22])
    }

    @Test func delAndOtherTextStayLiteral() {
        #expect(text("\u{7f}é ✓ 😀 /") == "\"\u{7f}é ✓ 😀 /\"")
    }

    @Test func appendsToWhatIsThere() {
        var out = Array("{\"k\":".utf8)
        JSONEscaper.appendQuoted("v", to: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"{"k":"v""#)
        var bare: [UInt8] = []
        Array("a\"b".utf8).withUnsafeBytes { JSONEscaper.appendEscaped(utf8: $0, to: &bare) }
        #expect(String(decoding: bare, as: UTF8.self) == #"a\"b"#)
    }
}
