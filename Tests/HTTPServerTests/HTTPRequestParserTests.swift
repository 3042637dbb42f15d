import Testing
@testable import HTTPServer

@Suite struct HTTPRequestParserTests {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    private func requests(_ events: [HTTPRequestParser.Event]) -> [HTTPRequest] {
        events.compactMap { if case .request(let r) = $0 { r } else { nil } }
    }

    private func failure(_ events: [HTTPRequestParser.Event]) -> HTTPParseError? {
        for event in events { if case .failure(let e) = event { return e } }
        return nil
    }

    private let postRequest = "POST /api/kernels/k%201/restart?x=1&name=a+b%2Fc&empty&x=2 HTTP/1.1\r\n"
        + "Host: localhost\r\nContent-Type: application/json\r\nX-Dup: one\r\nx-dup: two\r\n"
        + "X-Empty:\r\nContent-Length: 13\r\n\r\n{\"name\": \"p\"}"

    @Test func parsesCompleteRequest() throws {
        let parser = HTTPRequestParser()
        let all = parser.feed(bytes(postRequest))
        let request = try #require(requests(all).first)
        #expect(all.count == 1)
        #expect(request.method == .post)
        #expect(request.target == "/api/kernels/k%201/restart?x=1&name=a+b%2Fc&empty&x=2")
        #expect(request.path == "/api/kernels/k%201/restart")
        #expect(request.pathComponents == ["api", "kernels", "k 1", "restart"])
        #expect(request.rawQuery == "x=1&name=a+b%2Fc&empty&x=2")
        #expect(request.queryValue("name") == "a b/c")
        #expect(request.queryValues("x") == ["1", "2"])
        #expect(request.queryValue("empty") == "")
        #expect(request.queryValue("missing") == nil)
        #expect(request.headers["content-type"] == "application/json")
        #expect(request.headers["CONTENT-TYPE"] == "application/json")
        #expect(request.headers.values(for: "X-DUP") == ["one", "two"])
        #expect(request.headers["X-Empty"] == "")
        #expect(request.headers["Host"] == "localhost")
        #expect(request.headers.count == 6)
        #expect(request.body == bytes("{\"name\": \"p\"}"))
        #expect(request.version == .http1_1)
        #expect(request.keepAlive)
        #expect(!request.isUpgrade)
        #expect(parser.state == .parsing)
    }

    @Test func everySplitPositionGivesTheSameRequest() throws {
        let whole = bytes(postRequest)
        let expected = try #require(requests(HTTPRequestParser().feed(whole)).first)
        for split in 1..<whole.count {
            let parser = HTTPRequestParser()
            let first = parser.feed(Array(whole[..<split]))
            #expect(first.isEmpty, "complete before split \(split)")
            let second = parser.feed(Array(whole[split...]))
            #expect(requests(second) == [expected], "split at \(split)")
        }
    }

    @Test func byteAtATime() throws {
        let whole = bytes(postRequest + postRequest)
        let parser = HTTPRequestParser()
        var got: [HTTPRequest] = []
        for byte in whole { got += requests(parser.feed([byte])) }
        #expect(got.count == 2)
        #expect(got.first?.body == bytes("{\"name\": \"p\"}"))
    }

    @Test func pipelinedRequestsInOneChunk() {
        let chunk = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
            + "DELETE /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
            + "GET /c?q=%E2%9C%93 HTTP/1.1\r\nHost: x\r\n\r\n"
            + "GET /d HTTP/1.1\r\nHo"
        let parser = HTTPRequestParser()
        let got = requests(parser.feed(bytes(chunk)))
        #expect(got.map(\.method) == [.get, .delete, .get])
        #expect(got.map(\.path) == ["/a", "/b", "/c"])
        #expect(got[1].body == bytes("hi"))
        #expect(got[2].queryValue("q") == "✓")
        let rest = requests(parser.feed(bytes("st: x\r\n\r\n")))
        #expect(rest.map(\.path) == ["/d"])
    }

    @Test func chunkedBodyIsDechunkedAndTrailersIgnored() throws {
        let text = "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n"
        let whole = bytes(text)
        for split in 1..<whole.count {
            let parser = HTTPRequestParser()
            let events = parser.feed(Array(whole[..<split])) + parser.feed(Array(whole[split...]))
            let request = try #require(requests(events).first, "split \(split)")
            #expect(request.body == bytes("hello, world"))
            #expect(request.headers["X-Trailer"] == nil)
            #expect(request.headers["Transfer-Encoding"] == "chunked")
        }
    }

    @Test func keepAliveRules() throws {
        let http10 = try #require(requests(HTTPRequestParser().feed(bytes("GET / HTTP/1.0\r\n\r\n"))).first)
        #expect(!http10.keepAlive)
        #expect(http10.version == .http1_0)
        let http10KeepAlive = try #require(requests(HTTPRequestParser().feed(bytes("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))).first)
        #expect(http10KeepAlive.keepAlive)
        let closing = HTTPRequestParser()
        let events = closing.feed(bytes("GET /1 HTTP/1.1\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"))
        #expect(requests(events).map(\.path) == ["/1"])
        #expect(requests(events).first?.keepAlive == false)
        #expect(closing.state == .closed)
        #expect(closing.feed(bytes("GET /3 HTTP/1.1\r\n\r\n")).isEmpty)
    }

    @Test func upgradeHandsBackFollowingBytes() throws {
        let head = "GET /api/kernels/k/channels HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        let frame: [UInt8] = [0x81, 0x85, 1, 2, 3, 4, 0x69, 0x67, 0x6F, 0x68, 0x6E]
        let whole = bytes(head) + frame
        for split in 1..<whole.count {
            let parser = HTTPRequestParser()
            var events = parser.feed(Array(whole[..<split]))
            events += parser.feed(Array(whole[split...]))
            #expect(events.count == 1)
            guard case .upgrade(let request, let remainder)? = events.first else {
                Issue.record("no upgrade event at split \(split): \(events)")
                return
            }
            #expect(request.isUpgrade)
            #expect(request.pathComponents == ["api", "kernels", "k", "channels"])
            // The upgrade is reported by the feed that completes the head; its remainder is what
            // followed the head in that chunk, and later input is no longer parsed as HTTP.
            let headLength = head.utf8.count
            let expected = split < headLength ? frame : Array(whole[headLength..<split])
            #expect(remainder == expected, "split \(split)")
            #expect(parser.state == .upgraded)
            #expect(parser.feed([0x81]).isEmpty)
        }
    }

    @Test func upgradeRemainderWhenHeadEndsExactlyAtChunkEnd() {
        let parser = HTTPRequestParser()
        let events = parser.feed(bytes("GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"))
        guard case .upgrade(_, let remainder)? = events.first else {
            Issue.record("expected upgrade, got \(events)")
            return
        }
        #expect(remainder.isEmpty)
    }

    @Test func requestBeforeUpgradeInSameChunkIsReported() {
        let parser = HTTPRequestParser()
        let events = parser.feed(bytes("GET /a HTTP/1.1\r\n\r\nGET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nXY"))
        #expect(events.count == 2)
        #expect(requests(events).map(\.path) == ["/a"])
        guard case .upgrade(let request, let remainder)? = events.last else {
            Issue.record("expected upgrade last, got \(events)")
            return
        }
        #expect(request.path == "/ws")
        #expect(remainder == bytes("XY"))
    }

    @Test(arguments: [
        "GARBAGE\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
        "GET /a%zz HTTP/1.1\r\n\r\n",
        "GET /a?b=%ff HTTP/1.1\r\n\r\n",
        "GET /a%C3%28 HTTP/1.1\r\n\r\n",
        "GET / HTTP/2.0\r\n\r\n",
    ])
    func malformedRequestsAre400(text: String) throws {
        let parser = HTTPRequestParser()
        let error = try #require(failure(parser.feed(bytes(text))), "accepted: \(text.debugDescription)")
        #expect(error.code == .badRequest)
        #expect(error.status.code == 400)
        #expect(parser.state == .failed)
        #expect(parser.feed(bytes("GET / HTTP/1.1\r\n\r\n")).isEmpty)
    }

    @Test func rawNonUTF8TargetIs400() throws {
        let error = try #require(failure(HTTPRequestParser().feed(bytes("GET /a") + [0xFF] + bytes(" HTTP/1.1\r\n\r\n"))))
        #expect(error.code == .badRequest)
        let utf8 = try #require(requests(HTTPRequestParser().feed(bytes("GET /\u{e9}t\u{e9} HTTP/1.1\r\n\r\n"))).first)
        #expect(utf8.pathComponents == ["\u{e9}t\u{e9}"])
    }

    @Test func protocolErrorDetailIsParserErrorName() throws {
        let error = try #require(failure(HTTPRequestParser().feed(bytes("FOO / HTTP/1.1\r\n\r\n"))))
        #expect(error.detail == "HPE_INVALID_METHOD")
        #expect(error.httpError == HTTPError(.badRequest, message: "Bad Request", detail: "HPE_INVALID_METHOD"))
    }

    @Test func requestsBeforeAMalformedOneAreStillReported() {
        let events = HTTPRequestParser().feed(bytes("GET /ok HTTP/1.1\r\n\r\nBROKEN\r\n\r\n"))
        #expect(requests(events).map(\.path) == ["/ok"])
        #expect(failure(events)?.code == .badRequest)
    }

    @Test func urlTooLongIs414() throws {
        let parser = HTTPRequestParser(limits: .init(maxURLLength: 32))
        let ok = parser.feed(bytes("GET /\(String(repeating: "a", count: 31)) HTTP/1.1\r\n\r\n"))
        #expect(requests(ok).count == 1)
        let long = HTTPRequestParser(limits: .init(maxURLLength: 32))
        let error = try #require(failure(long.feed(bytes("GET /\(String(repeating: "a", count: 32)) HTTP/1.1\r\n\r\n"))))
        #expect(error.code == .uriTooLong)
        #expect(error.status.code == 414)
    }

    @Test func urlLimitAppliesAcrossChunks() throws {
        let parser = HTTPRequestParser(limits: .init(maxURLLength: 16))
        #expect(parser.feed(bytes("GET /aaaaaaaa")).isEmpty)
        let error = try #require(failure(parser.feed(bytes("aaaaaaaaaa HTTP/1.1\r\n\r\n"))))
        #expect(error.status.code == 414)
    }

    @Test func headersTooLargeIs431() throws {
        let parser = HTTPRequestParser(limits: .init(maxHeaderBytes: 200))
        var text = "GET / HTTP/1.1\r\n"
        for i in 0..<20 { text += "X-H\(i): \(String(repeating: "v", count: 10))\r\n" }
        let error = try #require(failure(parser.feed(bytes(text + "\r\n"))))
        #expect(error.code == .headersTooLarge)
        #expect(error.status.code == 431)
    }

    @Test func parserOwnHeaderCapIs431() throws {
        // http_parser's compiled-in 80 KiB cap applies even when our limit is higher.
        let parser = HTTPRequestParser(limits: .init(maxHeaderBytes: 1 << 20))
        let text = "GET / HTTP/1.1\r\nX-Big: \(String(repeating: "v", count: 90 * 1024))\r\n\r\n"
        let error = try #require(failure(parser.feed(bytes(text))))
        #expect(error.status.code == 431)
        #expect(error.detail == "HPE_HEADER_OVERFLOW")
    }

    @Test func declaredBodyTooLargeIs413BeforeBodyArrives() throws {
        let parser = HTTPRequestParser(limits: .init(maxBodyBytes: 10))
        let error = try #require(failure(parser.feed(bytes("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n"))))
        #expect(error.code == .bodyTooLarge)
        #expect(error.status.code == 413)
        let exact = HTTPRequestParser(limits: .init(maxBodyBytes: 10))
        #expect(requests(exact.feed(bytes("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789"))).count == 1)
    }

    @Test func chunkedBodyTooLargeIs413() throws {
        let parser = HTTPRequestParser(limits: .init(maxBodyBytes: 10))
        let text = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n"
        #expect(parser.feed(bytes(text)).isEmpty)
        let error = try #require(failure(parser.feed(bytes("3\r\nabc\r\n0\r\n\r\n"))))
        #expect(error.status.code == 413)
    }

    @Test func eofMidRequestIsFailureAndCleanEofIsNot() throws {
        let parser = HTTPRequestParser()
        _ = parser.feed(bytes("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab"))
        let error = try #require(failure(parser.finish()))
        #expect(error.code == .badRequest)
        let clean = HTTPRequestParser()
        _ = clean.feed(bytes("GET / HTTP/1.1\r\n\r\n"))
        #expect(clean.finish().isEmpty)
        #expect(clean.state == .closed)
    }

    @Test func absoluteFormTargetYieldsPathAndQuery() throws {
        let request = try #require(requests(HTTPRequestParser().feed(bytes("GET http://example.com:8888/api/status?a=1 HTTP/1.1\r\n\r\n"))).first)
        #expect(request.path == "/api/status")
        #expect(request.pathComponents == ["api", "status"])
        #expect(request.queryValue("a") == "1")
    }

    @Test func encodedSlashStaysInsideComponentAndTrailingSlashKept() throws {
        let request = try #require(requests(HTTPRequestParser().feed(bytes("GET /kernelspecs/a%2Fb/ HTTP/1.1\r\n\r\n"))).first)
        #expect(request.pathComponents == ["kernelspecs", "a/b", ""])
        let root = try #require(requests(HTTPRequestParser().feed(bytes("GET / HTTP/1.1\r\n\r\n"))).first)
        #expect(root.pathComponents == [""])
        #expect(root.rawQuery == nil)
        #expect(root.queryItems.isEmpty)
    }

    @Test func headerNamesAndValuesSplitAcrossChunksAreJoined() throws {
        let parser = HTTPRequestParser()
        var events: [HTTPRequestParser.Event] = []
        for piece in ["GET / HTTP/1.1\r\nAuthor", "ization: tok", "en abc\r\nX-A", ":", " 1\r\n\r\n"] {
            events += parser.feed(bytes(piece))
        }
        let request = try #require(requests(events).first)
        #expect(request.headers["authorization"] == "token abc")
        #expect(request.headers["x-a"] == "1")
        #expect(request.headers.count == 2)
    }

    @Test func publicInitializerDecodesTargets() throws {
        let request = try HTTPRequest(method: .get, target: "/api/kernels/a%20b?x=%41+b")
        #expect(request.pathComponents == ["api", "kernels", "a b"])
        #expect(request.queryValue("x") == "A b")
        #expect(throws: HTTPParseError.self) { try HTTPRequest(method: .get, target: "/%4") }
    }
}
