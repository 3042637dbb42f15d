import Testing
@testable import HTTPServer

@Suite struct ReceiveDeadlinesTests {
    private let s: UInt64 = 1_000_000_000
    private var timeouts: ReceiveDeadlines.Timeouts { .init(idle: .seconds(300), head: .seconds(10), body: .seconds(30)) }

    private func head(_ request: Int) -> HTTPRequestParser.Progress { .init(stage: .head, request: request) }
    private func body(_ request: Int) -> HTTPRequestParser.Progress { .init(stage: .body, request: request) }
    private func waiting(_ request: Int) -> HTTPRequestParser.Progress { .init(stage: .waiting, request: request) }

    @Test func anAnonymousConnectionMayStaySilentOnlyForTheHeadTimeout() {
        // Opened and silent, or answered (say, 401 on its head) and silent again: never admitted, so 10 s.
        var d = ReceiveDeadlines(timeouts: timeouts, now: 5 * s)
        #expect(d.expired(now: 15 * s, answering: false) == .idle)
        d.responded(now: 20 * s)
        #expect(d.deadline(answering: false) == 30 * s)
        d.admitted()
        #expect(d.deadline(answering: false) == 320 * s)
    }

    @Test func idleCountsOnlyWhileNothingIsAnswered() {
        var d = ReceiveDeadlines(timeouts: timeouts, now: 5 * s)
        d.admitted()
        #expect(d.deadline(answering: false) == 305 * s)
        #expect(d.deadline(answering: true) == nil)
        #expect(d.expired(now: 304 * s, answering: false) == nil)
        #expect(d.expired(now: 305 * s, answering: false) == .idle)
        #expect(d.expired(now: 999 * s, answering: true) == nil)
    }

    @Test func respondingRestartsTheIdleClock() {
        var d = ReceiveDeadlines(timeouts: timeouts, now: 0)
        d.admitted()
        d.responded(now: 100 * s)
        #expect(d.deadline(answering: false) == 400 * s)
    }

    @Test func headClockRunsFromTheFirstByteAndIgnoresActivity() {
        var d = ReceiveDeadlines(timeouts: timeouts, now: 0)
        d.observe(head(1), now: 50 * s)
        #expect(d.deadline(answering: false) == 60 * s)
        // More bytes of the same head (a slowloris dribble) do not move the deadline.
        d.observe(head(1), now: 59 * s)
        #expect(d.expired(now: 60 * s, answering: false) == .head)
        // It applies while an earlier request is answered, too.
        #expect(d.expired(now: 60 * s, answering: true) == .head)
    }

    @Test func bodyClockRunsFromTheEndOfTheHead() {
        var d = ReceiveDeadlines(timeouts: timeouts, now: 0)
        d.observe(head(1), now: 1 * s)
        d.observe(body(1), now: 9 * s)
        #expect(d.deadline(answering: false) == 39 * s)
        #expect(d.expired(now: 38 * s, answering: false) == nil)
        #expect(d.expired(now: 39 * s, answering: false) == .body)
    }

    @Test func aNewRequestRestartsTheHeadClock() {
        var d = ReceiveDeadlines(timeouts: timeouts, now: 0)
        d.observe(head(1), now: 1 * s)
        d.observe(head(2), now: 8 * s)
        #expect(d.deadline(answering: true) == 18 * s)
        d.observe(waiting(2), now: 9 * s)
        #expect(d.deadline(answering: true) == nil)
    }

    @Test func pausedReadingStopsTheClockAndResumingRestartsIt() {
        var d = ReceiveDeadlines(timeouts: timeouts, now: 0)
        d.observe(head(1), now: 1 * s)
        d.pause()
        #expect(d.deadline(answering: true) == nil)
        #expect(d.expired(now: 100 * s, answering: true) == nil)
        d.resume(now: 100 * s)
        #expect(d.deadline(answering: true) == 110 * s)
        // Resuming without a pause changes nothing.
        d.resume(now: 105 * s)
        #expect(d.deadline(answering: true) == 110 * s)
    }

    @Test func nextCheckIsNeverLaterThanAnyDeadlineAnEventCanCreate() {
        var d = ReceiveDeadlines(timeouts: timeouts, now: 0)
        // Idle: the timer looks again after the shortest timeout, not after 300 s...
        let armed = d.nextCheck(now: 0, answering: false)
        #expect(armed == 10 * s)
        // ...so a head that starts any time before then is caught at its exact deadline.
        d.observe(head(1), now: 3 * s)
        #expect(d.deadline(answering: false) == 13 * s)
        #expect(armed <= 13 * s)
        #expect(d.nextCheck(now: armed, answering: false) == 13 * s)
        // A deadline already past is checked at once.
        #expect(d.nextCheck(now: 20 * s, answering: false) == 20 * s)
    }

    @Test func zeroTimeoutsAreRaisedToOneMillisecond() {
        let d = ReceiveDeadlines(timeouts: .init(idle: .zero, head: .zero, body: .zero), now: 0)
        #expect(d.timeouts.head == 1_000_000)
        #expect(d.nextCheck(now: 0, answering: false) == 1_000_000)
    }
}
