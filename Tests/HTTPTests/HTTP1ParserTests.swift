import HTTP
import Testing

@Suite("HTTP/1.1 parser")
struct HTTP1ParserTests {
    @Test func simpleGet() {
        let o = parseAllWays("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(o.requests == ["GET /healthz "])
        #expect(o.error == nil)
    }

    @Test func pipelinedRequestsComeOutInOrder() {
        let o = parseAllWays(
            "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /c"
                + " HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        #expect(o.requests == ["GET /a ", "POST /b abc", "GET /c "])
    }

    @Test func chunkedBodyIsReassembled() {
        let o = parseAllWays(
            "POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n"
                + " world\r\n0\r\nTrailer: t\r\n\r\nGET /n HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        #expect(o.requests == ["POST /u hello world", "GET /n "])
    }

    @Test func expectContinueIsSignalledBeforeTheBody() {
        var p = HTTP1Parser()
        p.append(Array("POST /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n".utf8))
        guard case .sendContinue = try! p.next() else {
            Issue.record("expected sendContinue")
            return
        }
        guard case .needMore = try! p.next() else {
            Issue.record("expected needMore")
            return
        }
        p.append(Array("ok".utf8))
        guard case .request(let r) = try! p.next() else {
            Issue.record("expected request")
            return
        }
        #expect(r.body == Array("ok".utf8))
    }

    /// A streamed body comes out as it arrives: the head first (before any body byte), then each part the moment
    /// it is buffered, bounded by its own limit rather than `maxBodyBytes`; only the requests the responder picks.
    @Test func streamedBodiesComeOutAsTheyArrive() throws {
        var limits = HTTPLimits(maxBodyBytes: 4)
        limits.maxStreamedBodyBytes = 10
        var p = HTTP1Parser(limits: limits, streamsBody: { method, target in target.hasPrefix("/apps/") })
        p.append(Array("POST /apps/a HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\nabc".utf8))
        guard case .requestHead(let head) = try p.next() else { throw HTTPParseError.malformedRequestLine }
        #expect(head.target == "/apps/a" && head.body.isEmpty)
        guard case .bodyPart(let first) = try p.next(), case .needMore = try p.next() else {
            throw HTTPParseError.malformedRequestLine
        }
        #expect(first == Array("abc".utf8))
        p.append(Array("defghPOST /other HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok".utf8))
        guard case .bodyPart(let rest) = try p.next(), case .bodyEnd = try p.next(),
            case .request(let next) = try p.next()
        else { throw HTTPParseError.malformedRequestLine }
        #expect(rest == Array("defgh".utf8) && next.body == Array("ok".utf8), "other paths are read whole")
        // The streamed limit holds for an announced length and for chunks.
        var big = HTTP1Parser(limits: limits, streamsBody: { _, _ in true })
        big.append(Array("POST /apps/a HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n".utf8))
        #expect(throws: HTTPParseError.bodyTooLarge) { try big.next() }
        var chunked = HTTP1Parser(limits: limits, streamsBody: { _, _ in true })
        chunked.append(
            Array("POST /apps/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\n".utf8))
        guard case .requestHead = try chunked.next(), case .bodyPart(let six) = try chunked.next() else {
            throw HTTPParseError.malformedRequestLine
        }
        #expect(six.count == 6)
        #expect(throws: HTTPParseError.bodyTooLarge) { try chunked.next() }
    }

    @Test func keepAliveRules() throws {
        func parse(_ s: String) throws -> Request {
            var p = HTTP1Parser()
            p.append(Array(s.utf8))
            guard case .request(let r) = try p.next() else { throw HTTPParseError.malformedRequestLine }
            return r
        }
        #expect(try parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n").keepAlive)
        #expect(try !parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").keepAlive)
        #expect(try !parse("GET / HTTP/1.0\r\n\r\n").keepAlive)
        #expect(try parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive)
    }

    @Test func absoluteFormBecomesOriginForm() {
        #expect(
            parseAllWays("GET http://example.com/a?b=1 HTTP/1.1\r\nHost: example.com\r\n\r\n").requests == [
                "GET /a?b=1 "
            ])
    }

    @Test func leadingEmptyLinesAreTolerated() {
        #expect(parseAllWays("\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n").requests == ["GET / "])
    }

    static let rejections: [(String, String)] = [
        ("GET /\r\nHost: x\r\n\r\n", "malformed_request_line"),
        ("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", "malformed_request_line"),
        ("GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", "malformed_request_line"),
        ("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", "malformed_request_line"),
        ("GET / HTTX/1.1\r\nHost: x\r\n\r\n", "malformed_request_line"),
        ("GET nopath HTTP/1.1\r\nHost: x\r\n\r\n", "malformed_request_line"),
        ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", "http_version_not_supported"),
        ("GET / HTTP/1.1\nHost: x\r\n\r\n", "bare_line_feed"),
        ("GET / HTTP/1.1\r\nHost: x\n\r\n", "bare_line_feed"),
        ("GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", "bad_header_name"),
        ("GET / HTTP/1.1\r\nHost: x\r\nName : v\r\n\r\n", "bad_header_name"),
        ("GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", "bad_header_name"),
        ("GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", "bad_header_name"),
        ("GET / HTTP/1.1\r\nHost: x\r\nA: b\u{01}c\r\n\r\n", "bad_header_value"),
        ("GET / HTTP/1.1\r\nHost: x\r\nA: b\rc\r\n\r\n", "bad_header_value"),
        ("GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n", "obsolete_line_folding"),
        (
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "length_and_transfer_encoding"
        ),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", "duplicate_content_length"),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc", "invalid_content_length"),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", "invalid_content_length"),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", "invalid_content_length"),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n", "invalid_content_length"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "unsupported_transfer_encoding"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", "unsupported_transfer_encoding"),
        (
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            "unsupported_transfer_encoding"
        ),
        ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "unsupported_transfer_encoding"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad_chunk"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", "bad_chunk"),
        ("GET / HTTP/1.1\r\n\r\n", "missing_host"),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "missing_host"),
        ("POST / HTTP/1.1\r\nHost: x\r\nExpect: something\r\n\r\n", "expectation_failed"),
    ]

    @Test(arguments: rejections)
    func rejects(_ input: String, _ code: String) {
        #expect(parseAllWays(input).error == code, "input: \(input.debugDescription)")
    }

    @Test func requestLineLimitAtTheEdge() {
        let limits = HTTPLimits(maxRequestLineBytes: 64)
        let fits = "GET /" + String(repeating: "a", count: 64 - 14) + " HTTP/1.1"  // exactly 64 bytes
        #expect(fits.utf8.count == 64)
        #expect(parseAllWays(fits + "\r\nHost: x\r\n\r\n", limits: limits).error == nil)
        let over = "GET /" + String(repeating: "a", count: 65 - 14) + " HTTP/1.1"
        #expect(parseAllWays(over + "\r\nHost: x\r\n\r\n", limits: limits).error == "uri_too_long")
        // Fires before the line ends: a client that never sends CRLF is cut off at the limit.
        var p = HTTP1Parser(limits: limits)
        p.append(Array(("GET /" + String(repeating: "a", count: 200)).utf8))
        #expect(throws: HTTPParseError.targetTooLong) { try p.next() }
    }

    @Test func headerLimitsAtTheEdge() {
        let limits = HTTPLimits(maxHeaderBytes: 256, maxHeaderCount: 4)
        func head(_ fields: Int) -> String {
            "GET / HTTP/1.1\r\nHost: x\r\n" + (1..<fields).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        }
        #expect(parseAllWays(head(4), limits: limits).error == nil)
        #expect(parseAllWays(head(5), limits: limits).error == "headers_too_large")
        let big = "GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "v", count: 300) + "\r\n\r\n"
        #expect(parseAllWays(big, limits: limits).error == "headers_too_large")
    }

    @Test func bodyLimitAtTheEdge() {
        let limits = HTTPLimits(maxBodyBytes: 10)
        #expect(
            parseAllWays("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789", limits: limits).requests
                .count == 1)
        // Refused on the head alone: the body is never read.
        #expect(
            parseAllWays("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", limits: limits).error
                == "payload_too_large")
        #expect(
            parseAllWays(
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n5\r\n", limits: limits
            ).error == "payload_too_large")
    }

    @Test func errorIsSticky() {
        var p = HTTP1Parser()
        p.append(Array("BAD\r\n\r\n".utf8))
        #expect(throws: HTTPParseError.self) { try p.next() }
        p.append(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(throws: HTTPParseError.self) { try p.next() }
    }

    @Test func headersKeepCaseAndCompareCaseInsensitively() throws {
        var p = HTTP1Parser()
        p.append(Array("GET / HTTP/1.1\r\nHost: x\r\nX-Thing:   spaced value  \r\n\r\n".utf8))
        guard case .request(let r) = try p.next() else {
            Issue.record("no request")
            return
        }
        #expect(r.headers["x-thing"] == "spaced value")
        #expect(r.headers["X-THING"] == "spaced value")
    }
}
