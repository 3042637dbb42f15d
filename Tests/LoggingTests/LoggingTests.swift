import Foundation
import Testing
@testable import Logging

@Suite struct LoggingTests {
    @Test func formatsValidJSONWithEscapes() throws {
        let line = JSONLinesLogHandler.format(level: .warning, label: "gw", message: "a \"quoted\"\nline\u{1}",
                                              metadata: ["kernel": "k1", "b": "x\\y"], time: "T")
        #expect(line.last == UInt8(ascii: "\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.dropLast())) as? [String: String])
        #expect(object["msg"] == "a \"quoted\"\nline\u{1}")
        #expect(object["level"] == "warning")
        #expect(object["kernel"] == "k1")
        #expect(object["b"] == "x\\y")
    }

    @Test func levelFilteringAndParsing() {
        let logger = Logger(label: "x", handler: JSONLinesLogHandler(minimumLevel: .warning, fileDescriptor: -1))
        #expect(!logger.isEnabled(.info))
        #expect(logger.isEnabled(.error))
        #expect(Logger.Level(name: "DEBUG") == .debug)
        #expect(Logger.Level(name: "loud") == nil)
    }
}
