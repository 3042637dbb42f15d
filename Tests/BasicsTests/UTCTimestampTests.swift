import Basics
import Foundation
import Testing

@Suite struct UTCTimestampTests {
    @Test func millisecondsMatchFoundation() {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        f.timeZone = TimeZone(identifier: "UTC")
        var ms: Int64 = -86_400_000 * 800  // before the epoch too
        while ms < 4_102_444_800_000 {  // 2100
            let date = Date(timeIntervalSince1970: Double(ms) / 1000)
            let stamp = UTCTimestamp(milliseconds: ms)
            #expect(stamp.iso8601(fractionDigits: 3) == f.string(from: date), "\(ms)")
            #expect(stamp.milliseconds == ms)
            ms += 86_400_000 * 37 + 3_600_000 * 5 + 61_001
        }
    }

    @Test func fractionDigitsTruncate() {
        let stamp = UTCTimestamp(seconds: 1_795_400_025, microseconds: 123_987)
        #expect(stamp.iso8601 == "2026-11-23T02:13:45.123987Z")
        #expect(stamp.iso8601(fractionDigits: 3) == "2026-11-23T02:13:45.123Z")
        #expect(stamp.iso8601(fractionDigits: 1) == "2026-11-23T02:13:45.1Z")
        #expect(stamp.iso8601(fractionDigits: 0) == stamp.iso8601)
        #expect(UTCTimestamp(milliseconds: -1).iso8601(fractionDigits: 3) == "1969-12-31T23:59:59.999Z")
    }

    @Test func clampsToFourDigitYearsAndValidMicroseconds() {
        #expect(UTCTimestamp(seconds: .max, microseconds: 5_000_000).iso8601 == "9999-12-31T23:59:59.999999Z")
        #expect(UTCTimestamp(seconds: .min, microseconds: -1).iso8601 == "0000-01-01T00:00:00.000000Z")
    }

    @Test func nowIsRecentAndFixedWidth() {
        let now = UTCTimestamp.now()
        #expect(now.iso8601.count == UTCTimestamp.formattedLength)
        #expect(now.seconds > 1_700_000_000)
        var out: [UInt8] = [0xAA]
        now.write(into: &out)
        #expect(out.count == 1 + UTCTimestamp.formattedLength)
    }
}
