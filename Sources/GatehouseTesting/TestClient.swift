import GatehouseCore
import HTTP

/// Drives any `HTTPResponder` in memory, without sockets: the fast way to test handlers. The socket tests run
/// the same requests through the real server.
package struct TestClient: Sendable {
    package let responder: any HTTPResponder
    package var defaultHeaders: HTTPHeaders

    package init(_ responder: any HTTPResponder, defaultHeaders: HTTPHeaders = ["Host": "test"]) {
        self.responder = responder
        self.defaultHeaders = defaultHeaders
    }

    package func send(
        _ method: String, _ target: String, headers: HTTPHeaders = [:], body: [UInt8] = []
    ) async -> Response {
        var all = defaultHeaders
        for f in headers { all.set(f.name, f.value) }
        let request = Request(
            method: method, target: target, headers: all, body: body, id: "test-\(UInt32.random(in: 0...UInt32.max))")
        if let r = responder.respondImmediately(to: request) { return r }
        return await responder.respond(to: request)
    }

    /// `request` as the server dispatches it: the synchronous answer, else the one given later with no task, else
    /// the async handler — the ways a request takes over a socket are the ones it takes here.
    package func dispatch(_ request: Request) async -> Response {
        if let r = responder.respondImmediately(to: request) { return r }
        let later: Response? = await withCheckedContinuation { c in
            if !responder.respondLater(to: request, { c.resume(returning: $0) }) { c.resume(returning: nil) }
        }
        if let later { return later }
        return await responder.respond(to: request)
    }

    package func send(_ method: String, _ target: String, json: String, headers: HTTPHeaders = [:]) async -> Response {
        var h = headers
        h.set("Content-Type", "application/json")
        return await send(method, target, headers: h, body: Array(json.utf8))
    }

}
