import Foundation
import GatehouseCore
import HTTP
import Server
import Web

/// A real server on a free loopback port with routes made for transport tests.
final class TestServer {
    let server: HTTPServer
    let port: Int
    let logs = LogSink.memory()

    init(_ configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        var config = ServerConfiguration(host: "127.0.0.1", port: 0, eventLoops: 2)
        configure(&config)
        let b = RouterBuilder(logger: Logger(label: "test", sink: .discard))
        b.sync("GET", "/healthz") { _ in Response.text("ok") }
        b.post("/echo") { ctx in Response(status: 200, body: ctx.request.body) }
        b.get("/path/:name") { ctx in .text(try ctx.parameter("name")) }
        b.get("/slow") { ctx in
            let ms = Int(ctx.query("ms") ?? "300") ?? 300
            try await Task.sleep(nanoseconds: UInt64(ms) * 1_000_000)
            return .text("slow done")
        }
        b.get("/big") { _ in .text(String(repeating: "x", count: 4 << 20)) }
        server = HTTPServer(configuration: config, responder: try b.build(), logSink: logs)
        port = try server.start()
    }

    deinit { server.shutdown() }

    func get(_ path: String) throws -> HTTPReply? {
        let s = try RawSocket(port: port)
        s.send("GET \(path) HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        return HTTPReply.parse(Array(s.readAll().text.utf8))?.0
    }
}
