import Foundation
import HTTP
import Server
import Testing

@Suite("Server over real sockets")
struct SocketTests {
    @Test func keepAliveServesManyRequestsOnOneConnection() throws {
        let t = try TestServer()
        let s = try RawSocket(port: t.port)
        for i in 0..<5 {
            s.send("GET /path/n\(i) HTTP/1.1\r\nHost: t\r\n\r\n")
            let r = s.readResponses(1)
            #expect(r.first?.status == 200)
            #expect(r.first?.body == "n\(i)")
            #expect(r.first?.headers["x-request-id"]?.isEmpty == false)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let t = try TestServer()
        let s = try RawSocket(port: t.port)
        // An async slow handler first: the quick ones behind it must still come out after it.
        s.send(
            "GET /slow?ms=100 HTTP/1.1\r\nHost: t\r\n\r\nGET /path/two HTTP/1.1\r\nHost: t\r\n\r\nPOST /echo"
                + " HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nthreeGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        let r = s.readResponses(4)
        #expect(r.map(\.body) == ["slow done", "two", "three", "ok"])
    }

    @Test func connectionCloseIsHonoured() throws {
        let t = try TestServer()
        let s = try RawSocket(port: t.port)
        s.send("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        let (text, closed) = s.readAll()
        #expect(text.hasPrefix("HTTP/1.1 200 OK"))
        #expect(text.contains("Connection: close"))
        #expect(closed)
    }

    @Test func http10ClosesByDefault() throws {
        let t = try TestServer()
        let s = try RawSocket(port: t.port)
        s.send("GET /healthz HTTP/1.0\r\n\r\n")
        let (text, closed) = s.readAll()
        #expect(text.hasPrefix("HTTP/1.1 200 OK"))
        #expect(closed)
    }

    @Test func expectContinueThenBody() throws {
        let t = try TestServer()
        let s = try RawSocket(port: t.port)
        s.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        let interim = s.readResponses(1)
        #expect(interim.first?.status == 100)
        s.send("ping")
        #expect(s.readResponses(1).first?.body == "ping")
    }

    @Test func chunkedRequestBody() throws {
        let t = try TestServer()
        let s = try RawSocket(port: t.port)
        s.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n")
        usleep(50_000)
        s.send("3\r\nefg\r\n0\r\n\r\n")
        #expect(s.readResponses(1).first?.body == "abcdefg")
    }

    static let badRequests: [(String, Int)] = [
        ("GARBAGE\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n folded\r\n\r\n", 400),
        ("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
        ("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n", 400),
        ("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
        ("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        ("GET / HTTP/1.1\r\nHost: t\r\n" + (0..<200).map { "X-\($0): v\r\n" }.joined() + "\r\n", 431),
        ("GET / HTTP/1.1\r\nHost: t\r\nX: " + String(repeating: "v", count: 40000) + "\r\n\r\n", 431),
        (
            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n" + String(repeating: "z", count: 5000),
            413
        ),
        ("GET / HTTP/3.0\r\nHost: t\r\n\r\n", 505),
    ]

    @Test(arguments: badRequests)
    func malformedRequestsGetAnErrorAndAClosedConnection(_ raw: String, _ status: Int) throws {
        let t = try TestServer()
        let s = try RawSocket(port: t.port)
        s.send(raw)
        let (text, closed) = s.readAll()
        let reply = HTTPReply.parse(Array(text.utf8))?.0
        #expect(reply?.status == status, "got \(text.prefix(120).debugDescription)")
        #expect(reply?.headers["content-type"] == "application/json")
        #expect(reply?.body.contains("\"error\":{\"code\":") == true)
        #expect(closed)
        // The server is unharmed.
        #expect(try t.get("/healthz")?.status == 200)
    }

    @Test func slowlorisIsCutOffByTheHeaderTimeout() async throws {
        let t = try TestServer { $0.headerTimeout = 1 }
        let s = try RawSocket(port: t.port)
        s.setTimeout(0.2)
        let started = Date()
        var closedAt: Date?
        var received = ""
        for byte in "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ".utf8 + Array(repeating: UInt8(ascii: "a"), count: 100) {
            s.send([byte])
            let (text, closed) = s.readAll()
            received += text
            if closed || !text.isEmpty {
                closedAt = Date()
                break
            }
            // Meanwhile, other clients are served.
            if Int(Date().timeIntervalSince(started) * 10) % 5 == 0 { #expect(try t.get("/healthz")?.status == 200) }
        }
        let elapsed = (closedAt ?? Date()).timeIntervalSince(started)
        #expect(closedAt != nil, "the slow client was never cut off")
        #expect(elapsed < 2.5)
        #expect(received.hasPrefix("HTTP/1.1 408"))
    }

    @Test func idleKeepAliveConnectionsAreClosed() throws {
        let t = try TestServer { $0.idleTimeout = 0.5 }
        let s = try RawSocket(port: t.port)
        s.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(s.readResponses(1).first?.status == 200)
        let started = Date()
        let (_, closed) = s.readAll()
        #expect(closed)
        #expect(Date().timeIntervalSince(started) < 2)
    }

    @Test func connectionCapAnswers503() throws {
        let t = try TestServer { $0.maxConnections = 2 }
        let a = try RawSocket(port: t.port)
        let b = try RawSocket(port: t.port)
        a.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        b.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(a.readResponses(1).first?.status == 200)
        #expect(b.readResponses(1).first?.status == 200)
        let c = try RawSocket(port: t.port)
        let (text, closed) = c.readAll()
        #expect(text.hasPrefix("HTTP/1.1 503"))
        #expect(closed)
        // Framed by the serializer: the declared length is the body's, and the body is the JSON error shape.
        let parts = text.components(separatedBy: "\r\n\r\n")
        let head = parts[0]
        let body = parts.dropFirst().joined(separator: "\r\n\r\n")
        let length = head.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }
        #expect(length == body.utf8.count, "Content-Length \(length ?? -1) for a \(body.utf8.count)-byte body")
        #expect(head.contains("\r\nRetry-After: 1") && head.contains("\r\nDate: "))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect((json["error"] as? [String: Any])?["code"] as? String == "unavailable")
    }

    @Test func largeResponsesAreWrittenCompletely() throws {
        let t = try TestServer()
        let s = try RawSocket(port: t.port)
        s.send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
        let r = s.readResponses(1)
        #expect(r.first?.body.utf8.count == 4 << 20)
    }

    @Test func gracefulShutdownFinishesInFlightRequests() throws {
        let t = try TestServer()
        let s = try RawSocket(port: t.port)
        s.send("GET /slow?ms=400 HTTP/1.1\r\nHost: t\r\n\r\n")
        usleep(100_000)
        let server = t.server
        let stopper = Thread { server.shutdown() }
        stopper.start()
        let r = s.readResponses(1)
        #expect(r.first?.status == 200)
        #expect(r.first?.body == "slow done")
        #expect(r.first?.headers["connection"] == "close")
        usleep(200_000)
        #expect(throws: (any Error).self) { _ = try RawSocket(port: t.port) }
    }

    @Test func everyRequestIsLoggedAsOneJSONLine() throws {
        let t = try TestServer()
        _ = try t.get("/path/secret-token-123")
        _ = try t.get("/no-such-route/another-secret-456")
        t.server.shutdown()
        let lines = t.logs.lines.filter { $0.contains("\"msg\":\"request\"") }
        #expect(lines.count == 2)
        // Unmatched paths are logged without the path too (it could be a mistyped link carrying a token).
        #expect(
            lines.contains { $0.contains("\"http.route\":\"(unmatched)\"") }
                && !lines.joined().contains("another-secret-456"))
        let first = try #require(lines.first { $0.contains("\"http.status\":200") })
        let obj = try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any]
        #expect(obj?["http.status"] as? Int == 200)
        #expect(obj?["http.route"] as? String == "/path/:name")
        #expect(!first.contains("secret-token-123"), "the raw path (which can hold tokens) must not be logged")
    }
}
