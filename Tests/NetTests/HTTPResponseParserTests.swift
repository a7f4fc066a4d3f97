import Net
import Testing

/// The response parser fed every way a network can split its input: whole, byte by byte, and cut in two at every
/// position. Whatever the split, the same response (or the same refusal) comes out.
@Suite("HTTP/1.1 response parser")
struct HTTPResponseParserTests {
    /// What came out: "status|name=value,…|body", or "error:<code>", or "incomplete".
    static func parse(_ chunks: [[UInt8]], method: String = "GET", closeAtEnd: Bool = false) -> String {
        var p = HTTPResponseParser(method: method, origin: "test", maxHeadBytes: 1024, maxBodyBytes: 64)
        do {
            for c in chunks {
                if let r = try p.feed(c) { return describe(r) }
            }
            return closeAtEnd ? describe(try p.finish()) : "incomplete"
        } catch let e as NetError {
            return "error:\(e.code)"
        } catch {
            return "error:?"
        }
    }

    static func describe(_ r: HTTPClientResponse) -> String {
        "\(r.status)|\(r.headers.map { "\($0.0)=\($0.1)" }.joined(separator: ","))|\(String(decoding: r.body, as: UTF8.self))"
    }

    /// Every split gives `expected`.
    static func allWays(
        _ text: String, method: String = "GET", closeAtEnd: Bool = false, _ expected: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let b = Array(text.utf8)
        #expect(parse([b], method: method, closeAtEnd: closeAtEnd) == expected, sourceLocation: sourceLocation)
        #expect(
            parse(b.map { [$0] }, method: method, closeAtEnd: closeAtEnd) == expected, "byte by byte",
            sourceLocation: sourceLocation)
        for i in 1..<max(1, b.count) {
            let got = parse([Array(b[..<i]), Array(b[i...])], method: method, closeAtEnd: closeAtEnd)
            #expect(got == expected, "split at \(i)", sourceLocation: sourceLocation)
            if got != expected { return }
        }
    }

    @Test func contentLength() {
        Self.allWays(
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  v \r\n\r\nhello", "200|content-length=5,x-a=v|hello")
    }

    @Test func chunkedWithExtensionsAndTrailers() {
        Self.allWays(
            "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\nA\r\n, world!!!\r\n0\r\nT: 1\r\n\r\n",
            "201|transfer-encoding=chunked|hello, world!!!")
    }

    @Test func interimAnswersAreSkipped() {
        Self.allWays(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            "200|content-length=2|ok")
    }

    @Test func bodyUntilCloseEndsWithTheConnection() {
        Self.allWays("HTTP/1.0 200 OK\r\n\r\nall of it", closeAtEnd: true, "200|connection=close|all of it")
        Self.allWays("HTTP/1.0 200 OK\r\n\r\nall of it", "incomplete")
    }

    @Test func answersWithoutABody() {
        Self.allWays("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", method: "HEAD", "200|content-length=10|")
        Self.allWays("HTTP/1.1 204 No Content\r\n\r\n", "204||")
        Self.allWays("HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n", "304|etag=x|")
        Self.allWays("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "200|content-length=0|")
    }

    @Test func bareLineFeedsAreAccepted() {
        Self.allWays("HTTP/1.1 200 OK\nContent-Length: 2\n\nok", "200|content-length=2|ok")
    }

    @Test func cutShortIsAnError() {
        Self.allWays("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhalf", closeAtEnd: true, "error:closed")
        Self.allWays("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", closeAtEnd: true, "error:closed")
        Self.allWays("", closeAtEnd: true, "error:closed")
    }

    @Test func hostileAnswersAreRefused() {
        let refused = [
            "HTTP/2 200 OK\r\n\r\n", "SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 600 No\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", "HTTP/1.1 200 OK\r\n: empty\r\n\r\n",
            "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
            // Both framings, or framings that disagree: a smuggling attempt.
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n123456789\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY",
            // Beyond the limits (64-byte bodies, 1 KB heads in this test).
            "HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n",
            "HTTP/1.1 200 OK\r\nX: \(String(repeating: "a", count: 2000))\r\n\r\n",
            "HTTP/1.1 200 OK\r\n" + String(repeating: "A: b\r\n", count: 101) + "\r\n",
        ]
        for r in refused { #expect(Self.parse([Array(r.utf8)]) == "error:protocol_error", "\(r.prefix(60))") }
        #expect(
            Self.parse([Array("HTTP/1.0 200 OK\r\n\r\n\(String(repeating: "z", count: 65))".utf8)], closeAtEnd: true)
                == "error:protocol_error")
    }

    @Test func leftoverBytesAreNoticed() throws {
        var p = HTTPResponseParser(method: "GET", origin: "t")
        let r = try p.feed(Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA".utf8))
        #expect(r?.body == Array("ok".utf8))
        #expect(p.hasLeftover)
        var q = HTTPResponseParser(method: "GET", origin: "t")
        #expect(q.sawNothing)
        _ = try q.feed(Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8))
        #expect(!q.hasLeftover)
    }
}
