import Foundation
import GatehouseCore
import Glibc
import HTTP
import Net
import Server
import Synchronization
import Testing
import Web

/// A raw upstream on loopback that answers each request with bytes a test chose (framings our own server never
/// sends, closes at chosen moments, silence), one thread per connection.
final class ScriptedUpstream: @unchecked Sendable {
    struct Reply: Sendable {
        var bytes: String
        var close = false
        var delayMillis = 0
    }
    let fd: Int32
    let port: Int
    let accepted = Atomic<Int>(0)
    let script: @Sendable (_ path: String, _ onConnection: Int) -> Reply

    init(_ script: @escaping @Sendable (_ path: String, _ onConnection: Int) -> Reply) throws {
        self.script = script
        (fd, port) = Wire.listenOnLoopback()
    }

    /// Starts answering (after init: the threads hold the upstream).
    func start() -> ScriptedUpstream {
        Thread { [self] in acceptLoop() }.start()
        return self
    }

    private let stopped = Atomic<Bool>(false)

    /// Stops accepting. The accept thread closes the listening socket itself: closed here, its number could be
    /// reused by another test's socket before the thread's next accept, which would then take that test's
    /// connections.
    func stop() {
        stopped.store(true, ordering: .releasing)
        shutdown(fd, Int32(SHUT_RDWR))
    }

    private func acceptLoop() {
        defer { close(fd) }
        while !stopped.load(ordering: .acquiring) {
            let c = accept(fd, nil, nil)
            if c < 0 || stopped.load(ordering: .acquiring) {
                if c >= 0 { close(c) }
                return
            }
            accepted.add(1, ordering: .relaxed)
            Thread { [self] in serve(c) }.start()
        }
    }

    private func serve(_ c: Int32) {
        var buffer: [UInt8] = []
        var served = 0
        defer { close(c) }
        while true {
            // One request head (the tests send no bodies).
            while buffer.firstRange(of: Array("\r\n\r\n".utf8)) == nil {
                var chunk = [UInt8](repeating: 0, count: 4096)
                let n = read(c, &chunk, 4096)
                if n <= 0 { return }
                buffer += chunk[0..<n]
            }
            let end = buffer.firstRange(of: Array("\r\n\r\n".utf8))!.upperBound
            let head = String(decoding: buffer[..<end], as: UTF8.self)
            buffer.removeFirst(end)
            let path = head.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
            let reply = script(path, served)
            served += 1
            if reply.delayMillis > 0 { usleep(UInt32(reply.delayMillis) * 1000) }
            let bytes = Array(reply.bytes.utf8)
            if !bytes.isEmpty { _ = bytes.withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
            if reply.close { return }
        }
    }
}

/// The event loop's own upstream connections against the blocking client on a pool thread: for every answer an
/// upstream can give (framings, interim answers, closes, silence, refusal) both give the same response or the same
/// error, over real sockets, and the loop's path really ran on the loop.
@Suite("Upstream client on the event loop")
struct LoopClientTests {
    static func script(_ path: String, _ n: Int) -> ScriptedUpstream.Reply {
        switch path {
        case "/length": return .init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-N: \(n)\r\n\r\nhello")
        case "/chunked":
            return .init(bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        case "/interim":
            return .init(bytes: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
        case "/until-close": return .init(bytes: "HTTP/1.1 200 OK\r\n\r\nuntil the end", close: true)
        case "/conn-close": return .init(bytes: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx")
        case "/big":
            return .init(
                bytes: "HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n" + String(repeating: "b", count: 200_000))
        case "/cut": return .init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", close: true)
        case "/garbage": return .init(bytes: "SSH-2.0-x\r\n\r\n", close: true)
        case "/hangup": return .init(bytes: "", close: true)
        case "/silent": return .init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz", delayMillis: 1500)
        default: return .init(bytes: "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        }
    }

    /// A server whose one route calls the upstream through `client` and describes what it got.
    static func describe(_ result: Result<HTTPClientResponse, any Error>) -> Response {
        switch result {
        case .success(let r):
            let h = r.headers.filter { $0.0 != "x-n" }.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
            return .text("\(r.status)|\(h)|\(r.body.count)|\(String(decoding: r.body.prefix(20), as: UTF8.self))")
        case .failure(let e): return .text("error:\((e as? NetError)?.code ?? "\(e)")")
        }
    }

    /// A server whose routes call the upstream through `client` and describe what they got: `/via/` with a task
    /// (`send`), `/now/` without one (`sendNow`, which declines until the address is resolved).
    static func caller(_ client: HTTPClient) throws -> (HTTPServer, Int) {
        let b = RouterBuilder(logger: Logger(label: "t", sink: .discard))
        b.get("/via/:path") { ctx in
            let path = "/" + (try ctx.parameter("path"))
            do {
                return describe(
                    .success(try await client.send(method: "GET", target: path, headers: [("Accept", "*/*")], body: []))
                )
            } catch {
                return describe(.failure(error))
            }
        }
        b.later(
            "GET", "/now/:path",
            { ctx, done in
                let path = "/" + ((try? ctx.parameter("path")) ?? "")
                return client.sendNow(method: "GET", target: path, headers: [("Accept", "*/*")], streamResponse: false)
                {
                    done(.success(describe($0)))
                }
            }, else: { _ in .text("declined") })
        let server = HTTPServer(
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0, eventLoops: 1, accessLog: false),
            responder: try b.build(), logSink: .discard)
        return (server, try server.start())
    }

    static func get(_ port: Int, _ path: String) throws -> String {
        let c = try HTTPClient(baseURL: "http://127.0.0.1:\(port)", usesLoop: false)
        return try c.sendBlocking(
            HTTPClient.requestBytes(method: "GET", target: path, host: "t", headers: [], body: []), method: "GET"
        ).bodyText
    }

    @Test func theLoopAnswersAsTheBlockingClientDoes() async throws {
        let upstream = try ScriptedUpstream(Self.script).start()
        defer { upstream.stop() }
        let origin = "http://127.0.0.1:\(upstream.port)"
        let onLoop = try HTTPClient(baseURL: origin, ioTimeoutMillis: 700)
        let blocking = try HTTPClient(baseURL: origin, ioTimeoutMillis: 700, usesLoop: false)
        let (s1, p1) = try Self.caller(onLoop)
        let (s2, p2) = try Self.caller(blocking)
        defer {
            s1.shutdown()
            s2.shutdown()
        }
        let cases = [
            "length", "chunked", "interim", "until-close", "conn-close", "big", "cut", "garbage", "hangup", "silent",
            "nothing", "length", "chunked",
        ]
        for c in cases {
            let a = try Self.get(p1, "/via/\(c)")
            let b = try Self.get(p2, "/via/\(c)")
            let now = try Self.get(p1, "/now/\(c)")
            #expect(a == b, "\(c)")
            #expect(now == a, "\(c): with no task as with one")
            #expect(!a.isEmpty)
        }
        #expect(onLoop.requestsWithoutTask.load(ordering: .relaxed) == cases.count)
        #expect(try Self.get(p1, "/via/length") == "200|content-length=5|5|hello")
        #expect(try Self.get(p1, "/via/chunked") == "200|transfer-encoding=chunked|5|abcde")
        #expect(try Self.get(p1, "/via/silent") == "error:timeout")
        #expect(try Self.get(p1, "/via/cut") == "error:closed")
        #expect(try Self.get(p1, "/via/garbage") == "error:protocol_error")
        #expect(onLoop.requestsOnLoop.load(ordering: .relaxed) >= cases.count)
        #expect(blocking.requestsOnLoop.load(ordering: .relaxed) == 0)
    }

    @Test func keptAliveConnectionsAreReusedAndAClosedOneIsNoticed() async throws {
        // On "/closing" every second answer on a connection closes it after the response, without saying so.
        let upstream = try ScriptedUpstream { path, n in
            .init(bytes: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n\(n)", close: path == "/closing" && n % 2 == 1)
        }.start()
        defer { upstream.stop() }
        let client = try HTTPClient(baseURL: "http://127.0.0.1:\(upstream.port)", retryIdempotent: true)
        let (s, p) = try Self.caller(client)
        defer { s.shutdown() }
        for _ in 0..<5 { #expect(try Self.get(p, "/via/same").hasPrefix("200|")) }
        #expect(upstream.accepted.load(ordering: .relaxed) == 1, "one connection for five requests in a row")
        var answers: [String] = []
        for _ in 0..<6 { answers.append(try Self.get(p, "/via/closing")) }
        #expect(answers.allSatisfy { $0.hasPrefix("200|") }, "\(answers)")
        #expect(upstream.accepted.load(ordering: .relaxed) >= 3)
    }

    @Test func aRefusedConnectIsAnErrorOnBothPaths() async throws {
        let upstream = try ScriptedUpstream(Self.script).start()
        let port = upstream.port
        upstream.stop()
        let (s1, p1) = try Self.caller(try HTTPClient(baseURL: "http://127.0.0.1:\(port)"))
        let (s2, p2) = try Self.caller(try HTTPClient(baseURL: "http://127.0.0.1:\(port)", usesLoop: false))
        defer {
            s1.shutdown()
            s2.shutdown()
        }
        #expect(try Self.get(p1, "/via/length") == "error:connect_failed")
        #expect(try Self.get(p2, "/via/length") == "error:connect_failed")
    }
}

extension HTTPClientResponse {
    var bodyText: String { String(decoding: body, as: UTF8.self) }
}
