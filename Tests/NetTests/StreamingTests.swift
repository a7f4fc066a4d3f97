import Foundation
import GatehouseCore
import Glibc
import HTTP
import Net
import Server
import Synchronization
import Testing
import Web

/// Blocking socket helpers for the two raw ends of a streaming test (a client, an upstream).
enum Wire {
    static func connect(_ port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
        timeout(fd, 5)
        return fd
    }

    /// A listening socket on a free loopback port.
    static func listenOnLoopback() -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        listen(fd, 64)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }

    static func timeout(_ fd: Int32, _ seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends everything; false when the peer is gone.
    @discardableResult
    static func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    static func send(_ fd: Int32, _ s: String) { send(fd, Array(s.utf8)) }

    /// Reads up to the end of a head; returns it and the bytes after it (nil on close or timeout).
    static func head(_ fd: Int32, _ buffer: inout [UInt8]) -> String? {
        while true {
            if let r = buffer.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: buffer[..<r.upperBound], as: UTF8.self)
                buffer.removeFirst(r.upperBound)
                return head
            }
            guard more(fd, &buffer) else { return nil }
        }
    }

    /// Reads until `buffer` holds `n` bytes; false on close or timeout.
    static func fill(_ fd: Int32, _ buffer: inout [UInt8], _ n: Int) -> Bool {
        while buffer.count < n { guard more(fd, &buffer) else { return false } }
        return true
    }

    static func more(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &chunk, chunk.count, 0)
        if n <= 0 { return false }
        buffer += chunk[0..<n]
        return true
    }

    /// A chunked body read whole (sizes, data, the last chunk); nil if malformed or cut.
    static func dechunk(_ fd: Int32, _ buffer: inout [UInt8]) -> [UInt8]? {
        var body: [UInt8] = []
        while true {
            while buffer.firstRange(of: [13, 10]) == nil { guard more(fd, &buffer) else { return nil } }
            let line = buffer.firstRange(of: [13, 10])!
            guard let size = Int(String(decoding: buffer[..<line.lowerBound], as: UTF8.self), radix: 16) else {
                return nil
            }
            buffer.removeFirst(line.upperBound)
            guard fill(fd, &buffer, size + 2) else { return nil }
            body += buffer[..<size]
            buffer.removeFirst(size + 2)
            if size == 0 { return body }
        }
    }

    static func header(_ head: String, _ name: String) -> String? {
        for line in head.split(separator: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 && parts[0].lowercased() == name {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    /// Bytes `i` of a test body: a pattern a lost, doubled or reordered byte would break.
    static func pattern(_ count: Int, offset: Int = 0) -> [UInt8] { (0..<count).map { UInt8((offset + $0) % 251) } }
}

/// An upstream that runs `serve` with each accepted connection on its own thread.
final class RawUpstream: @unchecked Sendable {
    let fd: Int32
    let port: Int
    private let stopped = Counter()

    /// `closed` fires after each connection is closed (a test can wait for the close to have happened).
    init(closed: Signal? = nil, _ serve: @escaping @Sendable (Int32) -> Void) throws {
        let (fd, port) = Wire.listenOnLoopback()
        self.fd = fd
        self.port = port
        let listener = fd
        let stopped = self.stopped
        Thread {
            defer { close(listener) }
            while true {
                let c = accept(listener, nil, nil)
                if c < 0 || stopped.value > 0 {
                    if c >= 0 { close(c) }
                    return
                }
                Wire.timeout(c, 5)
                Thread {
                    serve(c)
                    close(c)
                    closed?.fire()
                }.start()
            }
        }.start()
    }

    func stop() {
        stopped.set(1)
        shutdown(fd, Int32(SHUT_RDWR))
    }
}

/// A number shared between a test and an upstream thread.
final class Counter: Sendable {
    private let v = Atomic<Int>(0)
    var value: Int { v.load(ordering: .acquiring) }
    func set(_ n: Int) { v.store(n, ordering: .releasing) }
}

/// A one-shot signal between a test and an upstream thread.
final class Signal: Sendable {
    private let s = DispatchSemaphore(value: 0)
    func fire() { s.signal() }
    /// Whether it fired within `seconds`.
    func wait(_ seconds: Double) -> Bool { s.wait(timeout: .now() + seconds) == .success }
}

/// Bodies streamed through the event loop both ways, over real sockets: the first bytes of a download reach the
/// client while the upstream holds back the rest, an upload reaches the upstream while the client holds back its
/// rest (beyond `maxBodyBytes`), a client that does not read holds the upstream back (bounded memory), a client
/// that leaves closes the upstream connection, and a consumer that cannot stream collects the body within a limit.
@Suite("Streamed bodies through the event loop")
struct StreamingTests {
    /// A server proxying `/p/<path>` to `client`, both bodies streamed as the gateway does.
    static func proxy(_ client: HTTPClient, bodyTimeout: Double = 30) throws -> HTTPServer {
        let b = RouterBuilder(logger: Logger(label: "t", sink: .discard))
        b.streamRequestBodies(under: "/p/")
        b.any("/p/*") { ctx in
            do {
                let r = try await client.send(
                    method: ctx.request.method, target: String(ctx.request.target.dropFirst(2)),
                    headers: [("X-Seen", "1")], body: ctx.request.body, bodyStream: ctx.request.bodyStream,
                    streamResponse: true)
                var out = Response(status: r.status, body: r.body)
                for (n, v) in r.headers where !["content-length", "transfer-encoding", "connection"].contains(n) {
                    out.headers.add(n, v)
                }
                out.bodySource = r.bodySource
                if ctx.request.method == "HEAD" { out.headLength = r.header("content-length").flatMap { Int($0) } }
                return out
            } catch let e as NetError {
                return Response(status: 502, contentType: "text/plain", body: "error:\(e.code)")
            }
        }
        var config = ServerConfiguration(host: "127.0.0.1", port: 0, eventLoops: 1, accessLog: false)
        config.bodyTimeout = bodyTimeout
        let server = HTTPServer(configuration: config, responder: try b.build(), logSink: .discard)
        try server.start()
        return server
    }

    /// The request head to an upstream: exact bytes, the framing of a streamed body, and nothing that could split
    /// a line (a header or request line that would smuggle a second request) ever written.
    @Test func requestHeadsAreExactAndCannotBeSplit() throws {
        let plain = try HTTPClient.requestBytes(
            method: "POST", target: "/a?b=1", host: "h:80", headers: [("X-A", "1"), ("Cookie", "c=d")], body: [65])
        #expect(
            String(decoding: plain, as: UTF8.self)
                == "POST /a?b=1 HTTP/1.1\r\nHost: h:80\r\nContent-Length: 1\r\nX-A: 1\r\nCookie: c=d\r\n\r\nA")
        let chunked = try HTTPClient.requestBytes(
            method: "PUT", target: "/u", host: "h:80", headers: [], body: [],
            streamedBody: RequestBodyStream(length: nil))
        #expect(
            String(decoding: chunked, as: UTF8.self)
                == "PUT /u HTTP/1.1\r\nHost: h:80\r\nTransfer-Encoding: chunked\r\n\r\n")
        let sized = try HTTPClient.requestBytes(
            method: "PUT", target: "/u", host: "h:80", headers: [], body: [], streamedBody: RequestBodyStream(length: 7)
        )
        #expect(String(decoding: sized, as: UTF8.self).contains("Content-Length: 7\r\n\r\n"))
        let hostile: [(String, String, [(String, String)])] = [
            ("GET", "/a HTTP/1.1\r\nX: y", []), ("GET", "/a b", []), ("GET\n", "/", []),
            ("GET", "/", [("X\r\nY", "1")]),
            ("GET", "/", [("X:Y", "1")]), ("GET", "/", [("X", "1\r\nY: 2")]), ("GET", "/", [("X", "1\nY: 2")]),
            ("GET", "/", [("X", String(repeating: "a", count: 800) + "\r")]),
        ]
        for (m, t, h) in hostile {
            #expect(throws: NetError.self, "\(m) \(t) \(h)") {
                try HTTPClient.requestBytes(method: m, target: t, host: "h:80", headers: h, body: [])
            }
        }
    }

    @Test func aDownloadReachesTheClientWhileTheUpstreamStillSendsIt() throws {
        let go = Signal()
        let upstream = try RawUpstream { c in
            var buf: [UInt8] = []
            while let head = Wire.head(c, &buf) {
                if head.hasPrefix("GET /length") {
                    Wire.send(c, "HTTP/1.1 200 OK\r\nContent-Length: 200000\r\nX-App: a\r\n\r\n")
                    Wire.send(c, Wire.pattern(100_000))
                    _ = go.wait(6)
                    Wire.send(c, Wire.pattern(100_000, offset: 100_000))
                } else {
                    Wire.send(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
                    _ = go.wait(6)
                    Wire.send(c, "6\r\nsecond\r\n0\r\n\r\n")
                }
            }
        }
        defer { upstream.stop() }
        let server = try Self.proxy(try HTTPClient(baseURL: "http://127.0.0.1:\(upstream.port)"))
        defer { server.shutdown() }
        let fd = try Wire.connect(server.port)
        defer { close(fd) }
        Wire.timeout(fd, 3)  // shorter than the upstream's hold: a buffering proxy fails here
        var buf: [UInt8] = []
        Wire.send(fd, "GET /p/length HTTP/1.1\r\nHost: t\r\n\r\n")
        let head = try #require(Wire.head(fd, &buf))
        #expect(head.hasPrefix("HTTP/1.1 200") && Wire.header(head, "content-length") == "200000")
        #expect(Wire.header(head, "x-app") == "a")
        #expect(Wire.fill(fd, &buf, 100_000), "the first half arrives while the upstream holds the second")
        go.fire()
        #expect(Wire.fill(fd, &buf, 200_000) && buf == Wire.pattern(200_000))
        // Without a length: chunked to the client, the first chunk before the upstream sends the rest.
        buf = []
        Wire.send(fd, "GET /p/chunked HTTP/1.1\r\nHost: t\r\n\r\n")
        let head2 = try #require(Wire.head(fd, &buf))
        #expect(Wire.header(head2, "transfer-encoding") == "chunked", "\(head2)")
        while buf.firstRange(of: Array("first".utf8)) == nil { try #require(Wire.more(fd, &buf)) }
        go.fire()
        #expect(String(decoding: try #require(Wire.dechunk(fd, &buf)), as: UTF8.self) == "firstsecond")
        // The connection stays usable after streamed answers.
        #expect(buf.isEmpty)
        go.fire()
        Wire.send(fd, "GET /p/length HTTP/1.1\r\nHost: t\r\n\r\n")
        let head3 = try #require(Wire.head(fd, &buf))
        #expect(head3.hasPrefix("HTTP/1.1 200"))
        #expect(Wire.fill(fd, &buf, 200_000) && buf == Wire.pattern(200_000))
    }

    /// An HTTP/1.0 client gets a body of unknown length until the connection closes (it knows no chunks); a HEAD
    /// keeps the upstream's length and carries no body.
    @Test func oldClientsAndHeadRequestsAreFramedForWhatTheyUnderstand() throws {
        let upstream = try RawUpstream { c in
            var buf: [UInt8] = []
            while let head = Wire.head(c, &buf) {
                if head.hasPrefix("HEAD") {
                    Wire.send(c, "HTTP/1.1 200 OK\r\nContent-Length: 4242\r\n\r\n")
                } else {
                    Wire.send(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
                    usleep(200_000)
                    Wire.send(c, "6\r\nsecond\r\n0\r\n\r\n")
                }
            }
        }
        defer { upstream.stop() }
        let server = try Self.proxy(try HTTPClient(baseURL: "http://127.0.0.1:\(upstream.port)"))
        defer { server.shutdown() }
        let fd = try Wire.connect(server.port)
        defer { close(fd) }
        Wire.send(fd, "GET /p/old HTTP/1.0\r\n\r\n")
        var buf: [UInt8] = []
        let head = try #require(Wire.head(fd, &buf))
        #expect(Wire.header(head, "transfer-encoding") == nil && Wire.header(head, "content-length") == nil, "\(head)")
        #expect(Wire.header(head, "connection") == "close")
        while Wire.more(fd, &buf) {}
        #expect(String(decoding: buf, as: UTF8.self) == "firstsecond", "the body ends with the connection")
        let fd2 = try Wire.connect(server.port)
        defer { close(fd2) }
        Wire.send(fd2, "HEAD /p/x HTTP/1.1\r\nHost: t\r\n\r\nGET /p/y HTTP/1.1\r\nHost: t\r\n\r\n")
        buf = []
        let headOnly = try #require(Wire.head(fd2, &buf))
        #expect(headOnly.hasPrefix("HTTP/1.1 200") && Wire.header(headOnly, "content-length") == "4242")
        let next = try #require(Wire.head(fd2, &buf), "no body after a HEAD answer: the next answer follows at once")
        #expect(next.hasPrefix("HTTP/1.1 200") && Wire.header(next, "transfer-encoding") == "chunked")
    }

    @Test func anUploadReachesTheUpstreamWhileTheClientStillSendsIt() throws {
        let size = 3 << 20  // three times the server's maxBodyBytes: streamed bodies have their own limit
        let received = Counter()
        let upstream = try RawUpstream { c in
            var buf: [UInt8] = []
            while let head = Wire.head(c, &buf) {
                var body: [UInt8] = []
                if let length = Wire.header(head, "content-length").flatMap({ Int($0) }) {
                    while buf.count < length {
                        guard Wire.more(c, &buf) else { return }
                        received.set(buf.count)
                    }
                    body = Array(buf.prefix(length))
                    buf.removeFirst(length)
                } else if Wire.header(head, "transfer-encoding") == "chunked" {
                    body = Wire.dechunk(c, &buf) ?? []
                }
                let ok = body == Wire.pattern(body.count) ? "intact" : "damaged"
                let framing = Wire.header(head, "content-length").map { "length \($0)" } ?? "chunked"
                let text = "\(body.count) \(ok) \(framing) expect=\(Wire.header(head, "expect") ?? "-")"
                Wire.send(c, "HTTP/1.1 200 OK\r\nContent-Length: \(text.utf8.count)\r\n\r\n\(text)")
            }
        }
        defer { upstream.stop() }
        let server = try Self.proxy(try HTTPClient(baseURL: "http://127.0.0.1:\(upstream.port)"))
        defer { server.shutdown() }
        let fd = try Wire.connect(server.port)
        defer { close(fd) }
        let body = Wire.pattern(size)
        Wire.send(fd, "PUT /p/upload HTTP/1.1\r\nHost: t\r\nContent-Length: \(size)\r\n\r\n")
        Wire.send(fd, Array(body[..<(size / 2)]))
        let deadline = Date().addingTimeInterval(5)
        while received.value < 1 << 20 && Date() < deadline { usleep(10_000) }
        #expect(received.value >= 1 << 20, "the upstream reads while the client still sends")
        Wire.send(fd, Array(body[(size / 2)...]))
        var buf: [UInt8] = []
        let head = try #require(Wire.head(fd, &buf))
        #expect(head.hasPrefix("HTTP/1.1 200"))
        #expect(Wire.fill(fd, &buf, Int(Wire.header(head, "content-length") ?? "") ?? 1))
        #expect(String(decoding: buf, as: UTF8.self) == "\(size) intact length \(size) expect=-")
        // Chunked from the client (with Expect: 100-continue): chunked to the upstream, the same bytes.
        buf = []
        Wire.send(
            fd, "POST /p/chunks HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
        let interim = try #require(Wire.head(fd, &buf))
        #expect(interim.hasPrefix("HTTP/1.1 100"))
        let parts = [Wire.pattern(70_000), Wire.pattern(5, offset: 70_000), Wire.pattern(300_000, offset: 70_005)]
        for p in parts { Wire.send(fd, Array(String(p.count, radix: 16).utf8) + [13, 10] + p + [13, 10]) }
        Wire.send(fd, "0\r\n\r\n")
        let head2 = try #require(Wire.head(fd, &buf))
        #expect(head2.hasPrefix("HTTP/1.1 200"))
        #expect(Wire.fill(fd, &buf, Int(Wire.header(head2, "content-length") ?? "") ?? 1))
        #expect(String(decoding: buf, as: UTF8.self) == "370005 intact chunked expect=-")
    }

    /// An upstream that closes every connection after its answer without saying so: an upload (which cannot be
    /// sent again) must not be given a connection whose close has arrived (seen by the loop, or still only by the
    /// kernel: `LoopPool.checkout` peeks before reusing a connection for a request that cannot be retried).
    @Test func uploadsAreNotSentOnConnectionsTheUpstreamClosed() throws {
        let closed = Signal()
        let upstream = try RawUpstream(closed: closed) { c in
            var buf: [UInt8] = []
            guard let head = Wire.head(c, &buf), let n = Wire.header(head, "content-length").flatMap({ Int($0) })
            else { return }
            _ = Wire.fill(c, &buf, n)
            Wire.send(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        }
        defer { upstream.stop() }
        let server = try Self.proxy(try HTTPClient(baseURL: "http://127.0.0.1:\(upstream.port)"))
        defer { server.shutdown() }
        let fd = try Wire.connect(server.port)
        defer { close(fd) }
        var answers: [String] = []
        for _ in 0..<8 {
            Wire.send(fd, "POST /p/x HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n")
            Wire.send(fd, Wire.pattern(5000))
            var buf: [UInt8] = []
            let head = Wire.head(fd, &buf) ?? "none"
            let length = Int(Wire.header(head, "content-length") ?? "") ?? 0
            _ = Wire.fill(fd, &buf, length)
            answers.append(String(head.prefix(12)) + String(decoding: buf, as: UTF8.self))
            // The upstream's close has happened before the next request, as a keep-alive timeout's does (a close
            // racing the request itself cannot be told apart from a failure; nothing sent can be sent again).
            #expect(closed.wait(5))
        }
        #expect(answers == Array(repeating: "HTTP/1.1 200ok", count: 8))
    }

    /// A client that stops sending its streamed body is cut off after the body timeout (counted from its last
    /// byte), and the upstream's request is abandoned with it.
    @Test func aStalledUploadIsCutOff() throws {
        let upstreamSawEnd = Signal()
        let upstream = try RawUpstream { c in
            var buf: [UInt8] = []
            guard Wire.head(c, &buf) != nil else { return }
            while Wire.more(c, &buf) {}
            upstreamSawEnd.fire()
        }
        defer { upstream.stop() }
        let server = try Self.proxy(try HTTPClient(baseURL: "http://127.0.0.1:\(upstream.port)"), bodyTimeout: 1)
        defer { server.shutdown() }
        let fd = try Wire.connect(server.port)
        defer { close(fd) }
        Wire.send(fd, "POST /p/x HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n")
        for _ in 0..<3 {  // trickling: each byte within the timeout keeps it alive
            Wire.send(fd, Wire.pattern(10))
            usleep(600_000)
        }
        let started = Date()
        var buf: [UInt8] = []
        while Wire.more(fd, &buf) {}
        let waited = Date().timeIntervalSince(started)
        #expect(waited > 0.2 && waited < 3, "closed \(waited) s after the last byte")
        #expect(upstreamSawEnd.wait(3), "the upstream's connection was closed too")
    }

    @Test func anUpstreamThatAnswersEarlyEndsTheUpload() throws {
        let upstream = try RawUpstream { c in
            var buf: [UInt8] = []
            guard let head = Wire.head(c, &buf) else { return }
            if head.contains("/long") {  // a long answer before the body: it arrives whole all the same
                Wire.send(c, "HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n")
                Wire.send(c, Wire.pattern(100_000))
                usleep(300_000)
                Wire.send(c, Wire.pattern(200_000, offset: 100_000))
                usleep(300_000)
                return
            }
            Wire.send(c, "HTTP/1.1 413 Content Too Large\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope")
        }
        defer { upstream.stop() }
        let server = try Self.proxy(try HTTPClient(baseURL: "http://127.0.0.1:\(upstream.port)"))
        defer { server.shutdown() }
        let fd = try Wire.connect(server.port)
        defer { close(fd) }
        Wire.send(fd, "POST /p/x HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n")
        Wire.send(fd, Wire.pattern(100_000))
        var buf: [UInt8] = []
        let head = try #require(Wire.head(fd, &buf))
        #expect(head.hasPrefix("HTTP/1.1 413") && Wire.header(head, "connection") == "close")
        #expect(Wire.fill(fd, &buf, 4) && buf == Array("nope".utf8))
        let fd2 = try Wire.connect(server.port)
        defer { close(fd2) }
        Wire.send(fd2, "POST /p/long HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n")
        Wire.send(fd2, Wire.pattern(100_000))
        buf = []
        let head2 = try #require(Wire.head(fd2, &buf))
        #expect(head2.hasPrefix("HTTP/1.1 200") && Wire.header(head2, "connection") == "close")
        #expect(Wire.fill(fd2, &buf, 300_000) && buf == Wire.pattern(300_000))
    }

    @Test func aClientThatDoesNotReadHoldsTheUpstreamBackAndOneThatLeavesClosesIt() throws {
        let total = 64 << 20
        let sent = Counter()
        let broken = Signal()
        let upstream = try RawUpstream { c in
            var buf: [UInt8] = []
            guard let head = Wire.head(c, &buf) else { return }
            let slice = [UInt8](repeating: 120, count: 65536)
            Wire.send(c, "HTTP/1.1 200 OK\r\nContent-Length: \(total)\r\n\r\n")
            var n = 0
            while n < total {
                guard Wire.send(c, slice) else {
                    if head.contains("leave") { broken.fire() }
                    return
                }
                n += slice.count
                sent.set(n)
            }
        }
        defer { upstream.stop() }
        let server = try Self.proxy(try HTTPClient(baseURL: "http://127.0.0.1:\(upstream.port)"))
        defer { server.shutdown() }
        let fd = try Wire.connect(server.port)
        var buf: [UInt8] = []
        Wire.send(fd, "GET /p/stay HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(Wire.head(fd, &buf) != nil)
        usleep(700_000)
        // Kernel buffers on both sockets and a window per side: far less than the body.
        #expect(sent.value < 40 << 20, "sent \(sent.value) while nobody read")
        var count = buf.count
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while count < total {
            let n = recv(fd, &chunk, chunk.count, 0)
            guard n > 0 else { break }
            count += n
        }
        #expect(count == total, "every byte arrives once the client reads")
        close(fd)
        // A client that leaves mid-body: the upstream connection is closed (its sends fail), not left to time out.
        let fd2 = try Wire.connect(server.port)
        Wire.send(fd2, "GET /p/leave HTTP/1.1\r\nHost: t\r\n\r\n")
        buf = []
        #expect(Wire.fill(fd2, &buf, 1 << 20))
        close(fd2)
        #expect(broken.wait(5), "the upstream saw the gateway close its connection")
    }

    @Test func aConsumerThatCannotStreamCollectsTheBodyWithinItsLimit() throws {
        let upstream = try RawUpstream { c in
            var buf: [UInt8] = []
            guard let head = Wire.head(c, &buf), let n = Wire.header(head, "content-length").flatMap({ Int($0) })
            else { return }
            _ = Wire.fill(c, &buf, n)
            let text = "\(n) \(buf.prefix(n) == Wire.pattern(n)[...] ? "intact" : "damaged")"
            Wire.send(c, "HTTP/1.1 200 OK\r\nContent-Length: \(text.utf8.count)\r\n\r\n\(text)")
        }
        defer { upstream.stop() }
        // The blocking client (an https upstream takes that path) with a 200 kB body limit.
        let client = try HTTPClient(
            baseURL: "http://127.0.0.1:\(upstream.port)", maxBodyBytes: 200_000, usesLoop: false)
        let server = try Self.proxy(client)
        defer { server.shutdown() }
        for (size, expected) in [(150_000, "150000 intact"), (250_000, "error:body_too_large")] {
            let fd = try Wire.connect(server.port)
            defer { close(fd) }
            Wire.send(fd, "POST /p/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
            for part in stride(from: 0, to: size, by: 50_000) {
                let p = Wire.pattern(min(50_000, size - part), offset: part)
                Wire.send(fd, Array(String(p.count, radix: 16).utf8) + [13, 10] + p + [13, 10])
            }
            Wire.send(fd, "0\r\n\r\n")
            var buf: [UInt8] = []
            let head = try #require(Wire.head(fd, &buf))
            let length = try #require(Wire.header(head, "content-length").flatMap { Int($0) })
            #expect(Wire.fill(fd, &buf, length))
            #expect(String(decoding: buf, as: UTF8.self) == expected)
        }
    }
}
