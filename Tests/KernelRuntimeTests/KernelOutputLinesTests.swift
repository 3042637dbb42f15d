import Testing
@testable import KernelRuntime

@Suite struct KernelOutputLinesTests {
    @Test func splitsLinesAcrossReadsAndKeepsTheTail() {
        var lines = KernelOutputLines()
        #expect(lines.feed(Array("hello\nwor".utf8), now: 0) == ["hello"])
        #expect(lines.feed(Array("ld\n\n".utf8), now: 1) == ["world", ""])
        #expect(lines.feed(Array("tail".utf8), now: 2) == [])
        #expect(lines.finish() == ["tail"])
        #expect(lines.finish() == [])
    }

    @Test func aForgedGatewayRecordIsJustALine() {
        var lines = KernelOutputLines()
        let forged = #"{"level":"info","msg":"reloaded users and policy"}"#
        #expect(lines.feed(Array((forged + "\n").utf8), now: 0) == [forged])
    }

    @Test func longLinesAreCut() {
        var lines = KernelOutputLines()
        let out = lines.feed([UInt8](repeating: UInt8(ascii: "x"), count: 10_000) + [10], now: 0)
        #expect(out.count == 1)
        #expect(out[0].utf8.count == KernelOutputLines.maxLineBytes + " [...]".utf8.count)
    }

    @Test func floodsAreDroppedCountedAndReportedOnceLoggingResumes() {
        var lines = KernelOutputLines()
        let line = [UInt8](repeating: UInt8(ascii: "y"), count: 1023) + [10]
        var logged = 0
        for _ in 0..<200 { logged += lines.feed(line, now: 0).count }
        #expect(logged == KernelOutputLines.burstBytes / 1024)
        #expect(lines.dropped == 200 - logged)
        // Two seconds later the bucket holds 32 KiB again: the notice comes first, then the line.
        let resumed = lines.feed(line, now: 2_000_000_000)
        #expect(resumed.first == "[kernel-gateway] \(200 - logged) lines of kernel output dropped (more than 16384 bytes/s)")
        #expect(resumed.count == 2)
    }
}
