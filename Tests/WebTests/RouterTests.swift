import Foundation
import GatehouseCore
import GatehouseTesting
import HTTP
import Testing
import Web

private struct Widget: Codable, Sendable {
    var name: String
    var count: Int
    var tags: [String]?
}

private struct Tagging: Middleware {
    func handle(_ context: RequestContext, next: Handler) async throws -> Response {
        var r = try await next(context)
        r.headers.add("X-Tagged", "yes")
        return r
    }
}

private func router() throws -> Router {
    let b = RouterBuilder(logger: Logger(label: "t", sink: .discard))
    b.use(Tagging())
    b.get("/orgs/:org") { ctx in .text("org=\(try ctx.parameter("org"))") }
    b.get("/orgs/:org/members/:member") { ctx in .text("\(try ctx.parameter("org"))/\(try ctx.parameter("member"))") }
    b.get("/orgs/special") { _ in .text("literal wins") }
    b.delete("/orgs/:org") { _ in Response(status: 204) }
    b.post("/widgets") { ctx in
        let w = try ctx.decode(Widget.self)
        guard !w.name.isEmpty else { throw GatehouseError.validation("`name` must not be empty.") }
        return try .json(w, status: 201)
    }
    b.get("/search") { ctx in .text(ctx.queryValues("q").joined(separator: "|")) }
    b.post("/form") { ctx in .text(try ctx.formPairs().map { "\($0.0)=\($0.1)" }.joined(separator: ",")) }
    b.get("/cookies") { ctx in .text(ctx.cookies["session"] ?? "none") }
    b.get("/crash") { _ in throw CocoaError(.fileNoSuchFile) }
    b.sync("GET", "/fast") { _ in Response.text("fast") }
    return try b.build()
}

@Suite("Router and request context")
struct RouterTests {
    @Test func pathParametersAndLiteralPrecedence() async throws {
        let c = TestClient(try router())
        #expect(await c.send("GET", "/orgs/org_eu_1").bodyText == "org=org_eu_1")
        #expect(await c.send("GET", "/orgs/a%20b/members/m%2F1").bodyText == "a b/m/1")
        #expect(await c.send("GET", "/orgs/special").bodyText == "literal wins")
        #expect(await c.send("GET", "/orgs/x").headers["X-Tagged"] == "yes")
    }

    @Test func notFoundAndMethodNotAllowed() async throws {
        let c = TestClient(try router())
        let nf = await c.send("GET", "/nothing/here")
        #expect(nf.status == 404)
        #expect(nf.bodyText == #"{"error":{"code":"not_found","message":"No such resource."}}"#)
        let na = await c.send("POST", "/orgs/x")
        #expect(na.status == 405)
        #expect(na.headers["Allow"] == "DELETE, GET, HEAD")
        #expect(na.bodyText.contains("\"code\":\"method_not_allowed\""))
        #expect(await c.send("HEAD", "/orgs/x").status == 200)
        #expect(await c.send("GET", "/orgs/").status == 404)
    }

    @Test func jsonBodies() async throws {
        let c = TestClient(try router())
        let ok = await c.send("POST", "/widgets", json: #"{"name":"a","count":2,"tags":["x"]}"#)
        #expect(ok.status == 201)
        #expect(ok.bodyText == #"{"count":2,"name":"a","tags":["x"]}"#)
        let cases: [(String, Int, String)] = [
            ("{not json", 400, "invalid_json"),
            ("", 400, "invalid_json"),
            (#"{"name":"a"}"#, 422, "validation_failed"),
            (#"{"name":"a","count":"two"}"#, 422, "validation_failed"),
            (#"{"name":"a","count":1,"tags":[1]}"#, 422, "validation_failed"),
            (#"{"name":null,"count":1}"#, 422, "validation_failed"),
            (#"{"name":"","count":1}"#, 422, "validation_failed"),
            (#"[1,2]"#, 422, "validation_failed"),
        ]
        for (body, status, code) in cases {
            let r = await c.send("POST", "/widgets", json: body)
            #expect(r.status == status, "\(body)")
            #expect(r.bodyText.contains("\"code\":\"\(code)\""), "\(body): \(r.bodyText)")
            #expect(r.headers["Content-Type"] == "application/json")
        }
        let wrongType = await c.send(
            "POST", "/widgets", headers: ["Content-Type": "text/plain"], body: Array("{}".utf8))
        #expect(wrongType.status == 415)
        let named = await c.send("POST", "/widgets", json: #"{"name":"a","count":"two"}"#)
        #expect(named.bodyText.contains("`count` must be an integer"))
    }

    @Test func queryFormAndCookies() async throws {
        let c = TestClient(try router())
        #expect(await c.send("GET", "/search?q=a+b&q=%C3%A9&x=1").bodyText == "a b|é")
        let form = await c.send(
            "POST", "/form", headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: Array("a=1&b=two+words".utf8))
        #expect(form.bodyText == "a=1,b=two words")
        #expect(await c.send("GET", "/cookies", headers: ["Cookie": "x=1; session=abc"]).bodyText == "abc")
    }

    @Test func unexpectedErrorsBecomeA500WithoutDetails() async throws {
        let c = TestClient(try router())
        let r = await c.send("GET", "/crash")
        #expect(r.status == 500)
        #expect(r.bodyText.contains("\"code\":\"internal_error\""))
        #expect(!r.bodyText.contains("fileNoSuchFile"))
    }

    @Test func synchronousRoutesAnswerWithoutATask() throws {
        let r = try router()
        let fast = r.respondImmediately(to: Request(method: "GET", target: "/fast"))
        #expect(fast?.bodyText == "fast" && fast?.route == "/fast")
        #expect(r.respondImmediately(to: Request(method: "GET", target: "/orgs/x")) == nil)
    }

    @Test func aSynchronousAttemptThatDeclinesFallsBackAndThePatternIsTyped() async throws {
        let b = RouterBuilder()
        b.sync(
            "GET", "/items/:id", { ctx in (try? ctx.parameter("id")) == "now" ? Response.text("sync") : nil },
            else: { _ in Response.text("async") })
        let r = try b.build()
        let now = r.respondImmediately(to: Request(method: "GET", target: "/items/now"))
        #expect(now?.bodyText == "sync" && now?.route == "/items/:id")
        #expect(r.respondImmediately(to: Request(method: "GET", target: "/items/later")) == nil)
        let later = await r.respond(to: Request(method: "GET", target: "/items/later"))
        #expect(later.bodyText == "async" && later.route == "/items/:id")
        #expect(
            later.headers.fields.allSatisfy { !$0.name.lowercased().contains("route") }, "the pattern is not a header")
        #expect(await r.respond(to: Request(method: "GET", target: "/nowhere")).route == nil)
        // A router with middleware refuses synchronous routes (they would skip it).
        let m = RouterBuilder()
        struct Pass: Middleware {
            func handle(_ c: RequestContext, next: Handler) async throws -> Response { try await next(c) }
        }
        m.use(Pass())
        m.sync("GET", "/x/:id") { _ in Response.text("x") }
        #expect(throws: RouteConflict.self) { try m.build() }
    }

    @Test func clashingRoutesFailTheBuild() {
        let b = RouterBuilder()
        b.get("/a/:x") { _ in .text("") }
        b.get("/a/:y/b") { _ in .text("") }
        #expect(throws: RouteConflict.self) { try b.build() }
        let d = RouterBuilder()
        d.get("/a") { _ in .text("") }
        d.get("/a") { _ in .text("") }
        #expect(throws: RouteConflict.self) { try d.build() }
    }
}
