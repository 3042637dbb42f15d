import Testing
@testable import HTTPServer

/// The head phase of `HTTPRequestParser`: `decideHead` sees every request before its body is read, and `progress`
/// reports which part of a request is being received.
@Suite struct HTTPRequestParserHeadTests {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// Records the heads it is shown and answers with `decide`.
    private final class Judge {
        var heads: [HTTPRequest] = []
        let decide: (HTTPRequest) -> HTTPHeadDecision

        init(_ decide: @escaping (HTTPRequest) -> HTTPHeadDecision) { self.decide = decide }

        func parser(maxBodyBytes: Int = 1024) -> HTTPRequestParser {
            HTTPRequestParser(limits: .init(maxBodyBytes: maxBodyBytes)) { [self] head in
                heads.append(head)
                return decide(head)
            }
        }
    }

    private let unauthorized = HTTPResponse(status: .unauthorized, body: Array("no token".utf8))

    @Test func headIsJudgedBeforeAnyBodyByte() throws {
        let judge = Judge { _ in .proceed }
        let parser = judge.parser()
        #expect(parser.feed(bytes("POST /a?x=1 HTTP/1.1\r\nAuthorization: token t\r\nContent-Length: 5\r\n\r\n")).isEmpty)
        let head = try #require(judge.heads.first)
        #expect(judge.heads.count == 1)
        #expect(head.method == .post && head.path == "/a" && head.queryValue("x") == "1")
        #expect(head.headers["authorization"] == "token t")
        #expect(head.body.isEmpty)
        #expect(parser.progress.stage == .body)
        let events = parser.feed(bytes("hello"))
        guard case .request(let request)? = events.first else { Issue.record("no request: \(events)"); return }
        #expect(request.body == bytes("hello"))
        #expect(judge.heads.count == 1)
    }

    @Test func rejectedHeadWithBodyStopsBeforeTheBody() throws {
        let judge = Judge { _ in .reject(self.unauthorized) }
        let parser = judge.parser(maxBodyBytes: 100)
        // The declared body is far above the limit: the refusal wins, nothing of the body is buffered.
        let events = parser.feed(bytes("POST /a HTTP/1.1\r\nContent-Length: 16777216\r\n\r\nxxxx"))
        guard events.count == 1, case .rejected(let request, let response) = events[0] else {
            Issue.record("expected one rejection: \(events)")
            return
        }
        #expect(response == unauthorized)
        #expect(!request.keepAlive)
        #expect(request.body.isEmpty)
        #expect(parser.state == .closed)
        #expect(parser.body.isEmpty)
        #expect(parser.feed(bytes(String(repeating: "x", count: 4096))).isEmpty)
        #expect(parser.body.isEmpty)
    }

    @Test func rejectedChunkedHeadStopsBeforeTheBody() {
        let judge = Judge { _ in .reject(self.unauthorized) }
        let parser = judge.parser()
        let events = parser.feed(bytes("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"))
        guard events.count == 1, case .rejected(let request, _) = events[0] else {
            Issue.record("expected one rejection: \(events)")
            return
        }
        #expect(!request.keepAlive)
        #expect(parser.state == .closed)
    }

    @Test func rejectedHeadWithoutBodyKeepsParsing() {
        let judge = Judge { $0.path == "/secret" ? .reject(self.unauthorized) : .proceed }
        let parser = judge.parser()
        let events = parser.feed(bytes("GET /secret HTTP/1.1\r\n\r\nGET /open HTTP/1.1\r\n\r\n"))
        guard events.count == 2, case .rejected(let refused, _) = events[0], case .request(let next) = events[1] else {
            Issue.record("expected a rejection then a request: \(events)")
            return
        }
        #expect(refused.path == "/secret" && refused.keepAlive)
        #expect(next.path == "/open")
        #expect(parser.state == .parsing)
    }

    @Test func rejectedUpgradeEndsTheConnection() {
        let judge = Judge { _ in .reject(self.unauthorized) }
        let parser = judge.parser()
        let events = parser.feed(bytes("GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\u{81}\u{80}"))
        guard events.count == 1, case .rejected(let request, _) = events[0] else {
            Issue.record("expected one rejection: \(events)")
            return
        }
        #expect(request.isUpgrade && !request.keepAlive)
        #expect(parser.state == .closed)
    }

    @Test func proceedLowersTheBodyBoundButNeverRaisesIt() throws {
        let lowered = Judge { _ in .proceed(maxBodyBytes: 4) }
        let declared = try #require(failure(lowered.parser().feed(bytes("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n"))))
        #expect(declared.code == .bodyTooLarge && declared.detail == "declared body of 5 bytes exceeds 4")
        let chunked = lowered.parser()
        let error = try #require(failure(chunked.feed(bytes("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"))))
        #expect(error.code == .bodyTooLarge)
        let exact = lowered.parser()
        #expect(requests(exact.feed(bytes("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd"))).count == 1)

        let raised = Judge { _ in .proceed(maxBodyBytes: 1 << 40) }
        let capped = try #require(failure(raised.parser(maxBodyBytes: 10).feed(bytes("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n"))))
        #expect(capped.detail == "declared body of 11 bytes exceeds 10")

        let none = Judge { _ in .proceed(maxBodyBytes: 0) }
        #expect(requests(none.parser().feed(bytes("GET / HTTP/1.1\r\n\r\n"))).count == 1)
        #expect(failure(none.parser().feed(bytes("POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\n"))) != nil)
    }

    @Test func theBoundAppliesPerRequest() {
        let judge = Judge { $0.path == "/small" ? .proceed(maxBodyBytes: 2) : .proceed }
        let parser = judge.parser()
        let events = parser.feed(bytes("POST /big HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloPOST /small HTTP/1.1\r\nContent-Length: 3\r\n\r\n"))
        #expect(requests(events).map(\.path) == ["/big"])
        #expect(failure(events)?.code == .bodyTooLarge)
    }

    @Test func malformedHeadsAreNotShownToTheJudge() {
        let judge = Judge { _ in .proceed }
        #expect(failure(judge.parser().feed(bytes("GET /%zz HTTP/1.1\r\n\r\n"))) != nil)
        #expect(failure(judge.parser().feed(bytes("GET / HTTP/2.0\r\n\r\n"))) != nil)
        #expect(judge.heads.isEmpty)
    }

    @Test func progressFollowsEachRequest() {
        let parser = HTTPRequestParser()
        #expect(parser.progress == .init(stage: .waiting, request: 0))
        _ = parser.feed(bytes("\r\n"))
        #expect(parser.progress == .init(stage: .head, request: 1), "blank lines start the head clock")
        _ = parser.feed(bytes("POST / HTTP/1.1\r\nContent-Length: 2\r\n"))
        #expect(parser.progress == .init(stage: .head, request: 1))
        _ = parser.feed(bytes("\r\na"))
        #expect(parser.progress == .init(stage: .body, request: 1))
        _ = parser.feed(bytes("b"))
        #expect(parser.progress == .init(stage: .waiting, request: 1))
        // A complete request and the start of the next in one chunk.
        _ = parser.feed(bytes("GET / HTTP/1.1\r\n\r\nGET /"))
        #expect(parser.progress == .init(stage: .head, request: 3))
        _ = parser.feed(bytes(" HTTP/1.1\r\n\r\n"))
        #expect(parser.progress == .init(stage: .waiting, request: 3))
    }

    private func requests(_ events: [HTTPRequestParser.Event]) -> [HTTPRequest] {
        events.compactMap { if case .request(let r) = $0 { r } else { nil } }
    }

    private func failure(_ events: [HTTPRequestParser.Event]) -> HTTPParseError? {
        for event in events { if case .failure(let e) = event { return e } }
        return nil
    }
}
