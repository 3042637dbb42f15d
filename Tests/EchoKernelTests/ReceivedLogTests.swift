import Basics
import JupyterProtocol
import Testing
@testable import echo_kernel

@Suite struct ReceivedLogTests {
    func token(_ s: String) -> [UInt8] { JSONEscaper.quoted(s) }

    func list(_ log: ReceivedLog) -> String {
        var out: [UInt8] = []
        log.writeList(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func entriesAreSerializedInOrder() {
        var log = ReceivedLog()
        #expect(list(log) == "[]")
        let type = token("kernel_info_request"), user = token("al\"ice")
        type.withUnsafeBytes { t in user.withUnsafeBytes { u in log.record(channel: .shell, msgType: t, username: u) } }
        token("input_reply").withUnsafeBytes { t in log.record(channel: .stdin, msgType: t, username: nil) }
        #expect(list(log) == #"[["shell","kernel_info_request","al\"ice"],["stdin","input_reply",null]]"#)
    }

    @Test func oldestHalfIsDroppedAtTheLimit() {
        var log = ReceivedLog()
        for i in 0..<(ReceivedLog.limit + 1) {
            token("t\(i)").withUnsafeBytes { log.record(channel: .control, msgType: $0, username: nil) }
        }
        #expect(log.count == ReceivedLog.limit / 2 + 1)
        let text = list(log)
        #expect(text.hasPrefix(#"[["control","t\#(ReceivedLog.limit / 2)",null],"#))
        #expect(text.hasSuffix(#"["control","t\#(ReceivedLog.limit)",null]]"#))
    }
}
