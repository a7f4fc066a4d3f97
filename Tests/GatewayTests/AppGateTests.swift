import Compression
import Foundation
import GatehouseCore
import GatehouseTesting
import Gateway
import HTTP
import JOSE
import Net
import Server
import Synchronization
import Tenant
import TenantAPI
import TenantDomain
import Testing
import Web

/// An upstream on loopback that answers with what it was sent (path, headers), and can set cookies.
final class EchoUpstream: @unchecked Sendable {
    final class Seen: Sendable {
        let requests = Mutex<[Request]>([])
        func withLock<T>(_ body: (inout [Request]) -> T) -> T { requests.withLock { body(&$0) } }
    }
    let server: HTTPServer
    let port: Int
    let seen = Seen()

    init() throws {
        let b = RouterBuilder(logger: Logger(label: "echo", sink: .discard))
        let seen = self.seen
        b.any("/*") { ctx in
            seen.withLock { $0.append(ctx.request) }
            let html = ctx.request.path.hasSuffix(".html")
            var r = Response(
                status: 200, headers: ["Content-Type": html ? "text/html; charset=utf-8" : "text/plain"],
                body: Array(
                    (html ? "<html><body class=\"x\"><p>page</p></body></html>" : "echo \(ctx.request.target)").utf8))
            r.headers.add("Set-Cookie", "gh_session=evil; Path=/")
            r.headers.add("Set-Cookie", "app_pref=dark; Path=/")
            return r
        }
        server = HTTPServer(
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0, eventLoops: 1, accessLog: false),
            responder: try b.build(), logSink: .discard)
        port = try server.start()
    }

    var last: Request? { seen.withLock { $0.last } }
}

/// Apps behind the gateway, in memory with a real upstream on loopback: the region's decision (grant, role,
/// user variables, SSO-only), the identity headers (spoofs stripped, Gatehouse credentials never forwarded, a
/// JWT that verifies with the published keys), path tricks refused, forward-auth, and the operator's allowlist.
@Suite("Apps behind the gateway: proxy, forward-auth, assertions")
struct AppGateTests {
    struct World {
        let f: GatewayFixture
        let org: String
        let olga: Browser
        let mia: Browser
        let miaID: String
        let app: String
        let upstream: EchoUpstream
    }

    static func world() async throws -> World {
        let f = try GatewayFixture()
        let (org, olga, token) = try await PageTests.orgWithInvite(f, email: "mia@acme.test")
        let mia = f.browser("10.20.0.2")
        #expect(
            await mia.call("POST", "/api/v1/invites/\(token)/accept", #"{"password":"mia-password-long"}"#).status
                == 200)
        let miaID = try #require(try await f.app.gateway.accounts.find(email: "mia@acme.test")?.id)
        let upstream = try EchoUpstream()
        // Every org has its Portal (a starting page): connect it.
        let listed = await olga.call("GET", "/api/v1/orgs/\(org)/apps")
        let apps = try #require(try JSONSerialization.jsonObject(with: Data(listed.body.utf8)) as? [[String: Any]])
        let app = try #require(apps.first { $0["slug"] as? String == "portal" }?["id"] as? String)
        let patched = await olga.call(
            "PATCH", "/api/v1/orgs/\(org)/apps/\(app)",
            """
            {"slug":"portal","upstream":"http://127.0.0.1:\(upstream.port)/base","rule":{"roles":["manager","owner"],\
            "appRoles":[],"conditions":[{"variable":"team","op":"equals","values":["blue"]}]}}
            """)
        #expect(patched.status == 200, "\(patched.body)")
        return World(f: f, org: org, olga: olga, mia: mia, miaID: miaID, app: app, upstream: upstream)
    }

    @Test func onlyMembersTheRuleLetsInReachTheUpstreamWithATrustedIdentity() async throws {
        let w = try await Self.world()
        // No grant yet: refused with the reason; the upstream sees nothing.
        var r = await w.mia.call("GET", "/apps/portal/hello?x=1")
        #expect(r.status == 403 && r.body.contains("You have no access to Portal"), "\(r.body)")
        #expect(
            await w.olga.call(
                "POST", "/api/v1/orgs/\(w.org)/apps/\(w.app)/grants", "{\"member\":\"\(w.miaID)\",\"role\":\"viewer\"}"
            )
            .status == 204)
        // The grant alone is not enough: the rule wants team=blue (case-sensitive).
        r = await w.mia.call("GET", "/apps/portal/hello?x=1")
        #expect(r.status == 403 && r.body.contains("user variable team"))
        _ = await w.olga.call(
            "PATCH", "/api/v1/orgs/\(w.org)/members/\(w.miaID)", #"{"userVariables":{"team":"Blue"}}"#)
        #expect(await w.mia.call("GET", "/apps/portal/hello").status == 403, "Blue is not blue")
        _ = await w.olga.call(
            "PATCH", "/api/v1/orgs/\(w.org)/members/\(w.miaID)", #"{"userVariables":{"team":"blue"}}"#)
        #expect(w.upstream.seen.withLock { $0.isEmpty })
        // In: the upstream gets the path under its base, a signed identity, and none of Gatehouse's credentials
        // or a client's spoofed identity headers.
        var req = Request(
            method: "GET", target: "/apps/portal/hello?x=1",
            headers: [
                "Host": "gh.test", "Cookie": "\(Sessions.cookieName)=\(w.mia.cookie ?? ""); app_pref=light",
                "X-Gatehouse-User": "acc_owner", "X-Gatehouse-Email": "boss@acme.test", "X-Forwarded-For": "1.2.3.4",
            ], id: "t", remoteAddress: "10.20.0.2")
        req.headers.add("X-Gatehouse-Assertion", "forged")
        let answer = await w.f.client.responder.respond(to: req)
        #expect(answer.status == 200 && answer.bodyText == "echo /base/hello?x=1", "\(answer.bodyText)")
        let seen = try #require(w.upstream.last)
        #expect(seen.headers["x-gatehouse-user"] == w.miaID && seen.headers["x-gatehouse-email"] == "mia@acme.test")
        #expect(
            seen.headers.values("x-gatehouse-assertion").count == 1 && seen.headers["x-gatehouse-assertion"] != "forged"
        )
        #expect(seen.headers["cookie"] == "app_pref=light", "the session cookie never reaches the app")
        #expect(seen.headers["x-forwarded-for"] == "10.20.0.2" && seen.headers["x-forwarded-prefix"] == "/apps/portal")
        // The upstream cannot set Gatehouse's cookies.
        #expect(answer.headers.values("Set-Cookie") == ["app_pref=dark; Path=/"])
        // The JWT verifies with the published key set and says who, where, for which app, briefly.
        let jws = try CompactJWS(try #require(seen.headers["x-gatehouse-assertion"]))
        let jwks = await w.f.browser().call("GET", "/.well-known/jwks.json")
        let set = try JWKSet(json: Array(jwks.body.utf8))
        try jws.verify(with: try set.key(for: jws))
        #expect(jws.algorithm == .es256)
        #expect(jws.claims["sub"] == .string(w.miaID) && jws.claims["aud"] == .string("portal"))
        #expect(jws.claims["org"] == .string(w.org) && jws.claims["app_role"] == .string("viewer"))
        #expect(jws.claims["vars"] == .object(["team": .string("blue")]) && jws.claims["region"] == .string("eu"))
        if case .number(let exp)? = jws.claims["exp"], case .number(let iat)? = jws.claims["iat"] {
            #expect(exp - iat == 60)
        } else {
            Issue.record("exp and iat missing")
        }
        // One kept-alive client per upstream, however many requests (one per request once leaked threads).
        for _ in 0..<5 { #expect(await w.mia.call("GET", "/apps/portal/again").status == 200) }
        #expect(w.f.app.gateway.upstreams.count == 1)
        // A removed member is refused at once.
        #expect(await w.olga.call("DELETE", "/api/v1/orgs/\(w.org)/members/\(w.miaID)").status == 204)
        #expect(await w.mia.call("GET", "/apps/portal/hello").status == 404)
    }

    /// Over a real server: a GET whose decision is remembered goes out with no task (`sendNow`) and answers byte
    /// for byte as the async way that asked the region first — a page, and an upstream that is down; the next GET on
    /// the same connection is admitted from what the connection kept, and answers alike too.
    @Test func theTaskFreeWayAnswersAsTheAsyncOne() async throws {
        let w = try await Self.world()
        #expect(
            await w.olga.call(
                "POST", "/api/v1/orgs/\(w.org)/apps/\(w.app)/grants", "{\"member\":\"\(w.miaID)\",\"role\":\"viewer\"}"
            ).status == 204)
        _ = await w.olga.call(
            "PATCH", "/api/v1/orgs/\(w.org)/members/\(w.miaID)", #"{"userVariables":{"team":"blue"}}"#)
        let server = HTTPServer(
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0, eventLoops: 1, accessLog: false),
            responder: w.f.app.router, logSink: .discard)
        let port = try server.start()
        defer { server.shutdown() }
        let client = try HTTPClient(baseURL: "http://127.0.0.1:\(port)", usesLoop: false)
        // The working org named by the switcher's cookie: a decision is remembered per caller and org.
        let cookie = "\(Sessions.cookieName)=\(w.mia.cookie ?? ""); \(GatewayService.currentOrgCookie)=\(w.org)"
        func get(_ path: String) throws -> String {
            let r = try client.sendBlocking(
                HTTPClient.requestBytes(
                    method: "GET", target: path, host: "gh.test",
                    headers: [("Cookie", cookie), ("Accept", "text/html")],
                    body: []),
                method: "GET")
            // One Date (ours): the upstream's is not passed on beside it.
            #expect(r.headers.filter { $0.0 == "date" }.count == 1, "\(path): \(r.headers)")
            let kept = r.headers.filter { !["date", "x-request-id"].contains($0.0) }
            return "\(r.status) \(kept) \(String(decoding: r.body, as: UTF8.self))"
        }
        let upstreams = w.f.app.gateway.upstreams
        let asked = try get("/apps/portal/page.html?x=1")
        #expect(upstreams.sentWithoutTask == 0, "the first request asks the region")
        let remembered = try get("/apps/portal/page.html?x=1")
        #expect(upstreams.sentWithoutTask == 1, "the second goes out with no task")
        #expect(asked.hasPrefix("200 ") && asked.contains("<p>page</p>"), "\(asked)")
        #expect(remembered == asked)
        // The third on the same kept connection: answered from what the connection kept of the second.
        #expect(try get("/apps/portal/page.html?x=1") == asked)
        #expect(w.f.app.gateway.admissionsFromConnections.load(ordering: .relaxed) == 1)
        #expect(upstreams.sentWithoutTask == 2)
        // The upstream down: a write anywhere drops remembered decisions, so the next GET asks again.
        w.upstream.server.shutdown()
        _ = await w.olga.call(
            "PATCH", "/api/v1/orgs/\(w.org)/members/\(w.miaID)", #"{"userVariables":{"team":"blue","x":"1"}}"#)
        let downAsked = try get("/apps/portal/page.html")
        let downRemembered = try get("/apps/portal/page.html")
        #expect(upstreams.sentWithoutTask == 3)
        #expect(downAsked.hasPrefix("502 ") && downAsked.contains("Portal is not answering"), "\(downAsked)")
        #expect(downRemembered == downAsked)
    }

    /// The byte-wise app path reader against the first, string-splitting one (kept here as the oracle) over
    /// generated targets: same slug and rest, or a refusal with the same status.
    @Test func appPathsAreReadAsTheFirstReaderDid() {
        func oracle(_ target: String) -> String {
            guard target.hasPrefix("/apps/"), target.utf8.count <= 8192 else { return "404" }
            let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let (path, query) = (parts[0], parts.count > 1 ? parts[1] : nil)
            if path.contains("\\") || path.lowercased().contains("%2e") || path.lowercased().contains("%2f")
                || path.lowercased().contains("%5c") || path.contains("%00") || path.contains("%25")
            {
                return "400"
            }
            let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst(2)
            guard let slug = segments.first, !slug.isEmpty else { return "404" }
            if segments.contains(where: { $0 == "." || $0 == ".." }) { return "400" }
            return "\(slug) " + "/" + segments.dropFirst().joined(separator: "/") + (query.map { "?" + $0 } ?? "")
        }
        let pieces = ["portal", "", ".", "..", "x", "a.b", "%2e", "%2F", "%41", "...", "q?x=/..", "?", "%5C", "\\"]
        var targets = [
            "/apps", "/apps/", "/app/x", "/apps?x", "/api/v1", "/apps/" + String(repeating: "a", count: 9000),
        ]
        for a in pieces {
            for b in pieces {
                for c in ["", "/", "/z", "?k=v", "/../y"] { targets.append("/apps/\(a)/\(b)\(c)") }
                targets.append("/apps/\(a)")
            }
        }
        for t in targets {
            let got: String
            do {
                let (slug, rest) = try AppGateRoutes.appPath(t)
                got = "\(slug) \(rest)"
            } catch let e as GatehouseError {
                got = "\(e.status)"
            } catch {
                got = "?"
            }
            #expect(got == oracle(t), "\(t)")
        }
    }

    @Test func pathTricksSignInAndForwardAuth() async throws {
        let w = try await Self.world()
        _ = await w.olga.call(
            "POST", "/api/v1/orgs/\(w.org)/apps/\(w.app)/grants", "{\"member\":\"\(w.miaID)\",\"role\":\"editor\"}")
        _ = await w.olga.call(
            "PATCH", "/api/v1/orgs/\(w.org)/members/\(w.miaID)", #"{"userVariables":{"team":"blue"}}"#)
        // Crossing apps by dot segments or encoded variants: refused before anything is asked.
        for path in [
            "/apps/portal/../other/x", "/apps/portal/%2e%2e/other", "/apps/portal/%2E%2E%2Fother",
            "/apps/portal/..%2fother",
            "/apps/portal/a%5c..%5cother", "/apps/portal/./x", "/apps/..", "/apps/portal/%252e%252e/x",
        ] {
            let r = await w.mia.call("GET", path)
            #expect(r.status == 400 || r.status == 404, "\(path): \(r.status)")
        }
        #expect(w.upstream.seen.withLock { $0.isEmpty })
        // Without a session a browser is sent to sign in and back; an API client gets 401.
        let stranger = w.f.browser("10.20.0.9")
        let bounce = await stranger.call("GET", "/apps/portal/page?a=b")
        #expect(bounce.status == 303 && bounce.headers["Location"] == "/login?next=%2Fapps%2Fportal%2Fpage%3Fa%3Db")
        #expect(await stranger.call("POST", "/apps/portal/page", "{}").status == 401)
        // Unknown app: 404, as an unknown org.
        #expect(await w.mia.call("GET", "/apps/nope/").status == 404)
        // Forward-auth: the same decision for a proxy in front, identity as headers.
        var verify = Request(
            method: "GET", target: "/auth/verify",
            headers: [
                "Host": "gh.test", "Cookie": "\(Sessions.cookieName)=\(w.mia.cookie ?? "")",
                "X-Original-URI": "/apps/portal/report",
            ], id: "v", remoteAddress: "127.0.0.1")
        var ok = await w.f.client.responder.respond(to: verify)
        #expect(ok.status == 200 && ok.headers["X-Gatehouse-Email"] == "mia@acme.test")
        #expect(ok.headers["X-Gatehouse-Assertion"] != nil && ok.headers["X-Gatehouse-App-Role"] == "editor")
        verify.headers.set("X-Original-URI", "/apps/portal/../secret")
        ok = await w.f.client.responder.respond(to: verify)
        #expect(ok.status == 400)
        // Envoy ext_authz: the original path after the check's prefix, no header.
        var envoy = verify
        envoy.headers.remove("X-Original-URI")
        envoy.target = "/auth/verify/apps/portal/report?x=1"
        #expect(await w.f.client.responder.respond(to: envoy).headers["X-Gatehouse-Email"] == "mia@acme.test")
        envoy.target = "/auth/verify/apps/portal/../other"
        #expect(await w.f.client.responder.respond(to: envoy).status == 400)
        verify.headers.set("X-Original-URI", "/apps/portal/x")
        verify.headers.set("Cookie", "")
        #expect(await w.f.client.responder.respond(to: verify).status == 401)
        // SSO-only members with a password session are refused (the region's rule 9).
        _ = await w.olga.call("PATCH", "/api/v1/orgs/\(w.org)/members/\(w.miaID)", #"{"ssoOnly":true}"#)
        let sso = await w.mia.call("GET", "/apps/portal/x")
        #expect(sso.status == 303 && sso.headers["Location"]?.hasPrefix("/sso/\(w.org)/login") == true)
    }

    /// The console's app page: where it is served, the rule as checkboxes and rows, and "would Mia get in?".
    @Test func theConsoleEditsAndTestsTheRule() async throws {
        let w = try await Self.world()
        let olga = FormBrowser(w.f.client)
        olga.cookies[Sessions.cookieName] = w.olga.cookie
        let page = await olga.go("GET", "/console/\(w.org)/apps/\(w.app)")
        #expect(page.status == 200 && page.body.contains("<code>/apps/portal/</code>"))
        #expect(page.body.contains("value=\"manager\" checked") && page.body.contains("value=\"team\""))
        let saved = await olga.go(
            "POST", "/console/\(w.org)/apps/\(w.app)/gateway",
            form: [
                ("csrf", olga.csrf), ("slug", "portal"), ("upstream", "http://127.0.0.1:\(w.upstream.port)/base"),
                ("ruleRole", "manager"), ("ruleAppRole", "editor"), ("condVar", "tier"), ("condOp", "one_of"),
                ("condValues", "gold, silver"), ("condVar", ""), ("condOp", "equals"), ("condValues", ""),
            ])
        #expect(saved.status == 303)
        let app = await w.olga.call("GET", "/api/v1/orgs/\(w.org)/apps")
        let listed = try #require(
            try JSONSerialization.jsonObject(with: Data(app.body.utf8)) as? [[String: Any]]
        ).first { $0["id"] as? String == w.app }
        let r = try #require(listed?["rule"] as? [String: Any])
        #expect(r["roles"] as? [String] == ["manager"] && r["appRoles"] as? [String] == ["editor"])
        #expect((r["conditions"] as? [[String: Any]])?.first?["values"] as? [String] == ["gold", "silver"])
        let check = await olga.go("GET", "/console/\(w.org)/apps/\(w.app)/check?member=\(w.miaID)")
        #expect(check.body.contains("id=\"check-result\"") && check.body.contains("No. You have no access to Portal."))
        // A bad rule keeps the page with the reason.
        let bad = await olga.go(
            "POST", "/console/\(w.org)/apps/\(w.app)/gateway",
            form: [("csrf", olga.csrf), ("slug", "Not A Slug"), ("upstream", "")])
        #expect(bad.status == 422 && bad.body.contains("id=\"gate-error\""))
        let apps = await olga.go("GET", "/console/\(w.org)/apps")
        #expect(apps.body.contains("/apps/portal/</span>"))
    }

    /// The remembered decision (and the assertion reused for half its life) answers exactly as asking the region
    /// every time: the same app over the same stores with remembering off is the oracle, through writes that change
    /// the decision (grant, user variable, rule, removal), for an allowed, a refused and a signed-out caller.
    @Test func rememberedDecisionsAnswerAsTheRegionDoes() async throws {
        let w = try await Self.world()
        let twin = TestClient(try w.f.uncachedTwin().router)
        let stranger = w.f.browser("10.20.0.77")
        func ask(_ client: TestClient, _ who: Browser, _ target: String, verify: Bool) async -> Response {
            var req = Request(
                method: "GET", target: verify ? "/auth/verify" : target,
                headers: ["Host": "gh.test", "Cookie": "\(Sessions.cookieName)=\(who.cookie ?? ""); gh_org=\(w.org)"],
                id: "r", remoteAddress: "10.20.0.5")
            if verify { req.headers.set("X-Original-URI", target) }
            return await client.responder.respond(to: req)
        }
        func claims(_ r: Response) throws -> [String: JSONValue] {
            guard let jwt = r.headers["X-Gatehouse-Assertion"] else { return [:] }
            var c = try CompactJWS(jwt).claims
            for k in ["jti", "iat", "nbf", "exp"] { c[k] = nil }
            return c
        }
        func same(_ step: String) async throws {
            for who in [w.mia, w.olga, stranger] {
                for verify in [true, false] {
                    for _ in 0..<2 {  // the second from memory where remembered
                        let mine = await ask(w.f.client, who, "/apps/portal/x", verify: verify)
                        let oracle = await ask(twin, who, "/apps/portal/x", verify: verify)
                        #expect(
                            mine.status == oracle.status, "\(step) verify=\(verify): \(mine.status) vs \(oracle.status)"
                        )
                        #expect(mine.bodyText == oracle.bodyText, "\(step) verify=\(verify)")
                        for h in ["X-Gatehouse-User", "X-Gatehouse-Email", "X-Gatehouse-Org", "X-Gatehouse-App-Role"] {
                            #expect(mine.headers[h] == oracle.headers[h], "\(step): \(h)")
                        }
                        #expect(try claims(mine) == claims(oracle), "\(step)")
                    }
                }
            }
        }
        try await same("no grant")
        _ = await w.olga.call(
            "POST", "/api/v1/orgs/\(w.org)/apps/\(w.app)/grants", "{\"member\":\"\(w.miaID)\",\"role\":\"viewer\"}")
        try await same("granted, no variable")
        _ = await w.olga.call(
            "PATCH", "/api/v1/orgs/\(w.org)/members/\(w.miaID)", #"{"userVariables":{"team":"blue"}}"#)
        try await same("allowed")
        #expect(w.f.app.gateway.appDecisions.count > 0, "remembered")
        _ = await w.olga.call(
            "PATCH", "/api/v1/orgs/\(w.org)/apps/\(w.app)",
            #"{"rule":{"roles":["owner"],"appRoles":[],"conditions":[]}}"#)
        try await same("rule for owners only")
        _ = await w.olga.call("DELETE", "/api/v1/orgs/\(w.org)/members/\(w.miaID)")
        try await same("removed")
    }

    /// What a connection remembers of its last admission (`ConnectionAdmission`) answers exactly as the lookups
    /// do: one connection shared by three callers (as a proxy's kept connection to `/auth/verify` is), against the
    /// same request without a connection on the same gateway (the same assertion, byte for byte) and against the
    /// twin that remembers nothing (the same decision and claims) — through time passing (within and past the
    /// decision's life, the clock set back), another app, another working org, a write that changes the decision,
    /// a removal and a sign-out. It must also have been used: the counter says which way each request took.
    @Test func aConnectionsLastAdmissionAnswersAsTheLookupsDo() async throws {
        let w = try await Self.world()
        let twin = TestClient(try w.f.uncachedTwin().router)
        let stranger = w.f.browser("10.20.0.77")
        _ = await w.olga.call(
            "POST", "/api/v1/orgs/\(w.org)/apps/\(w.app)/grants", "{\"member\":\"\(w.miaID)\",\"role\":\"viewer\"}")
        _ = await w.olga.call(
            "PATCH", "/api/v1/orgs/\(w.org)/members/\(w.miaID)", #"{"userVariables":{"team":"blue"}}"#)
        let shared = ConnectionMemory()
        let own = [w.mia.cookie ?? "": ConnectionMemory(), w.olga.cookie ?? "": ConnectionMemory()]
        var org = w.org
        func ask(
            _ client: TestClient, _ who: Browser, _ target: String, verify: Bool, on memory: ConnectionMemory?
        ) async -> Response {
            var req = Request(
                method: "GET", target: verify ? "/auth/verify" : target,
                headers: ["Host": "gh.test", "Cookie": "\(Sessions.cookieName)=\(who.cookie ?? ""); gh_org=\(org)"],
                id: "r", remoteAddress: "10.20.0.5")
            if verify { req.headers.set("X-Original-URI", target) }
            req.connection = memory
            return await client.dispatch(req)
        }
        func claims(_ r: Response) throws -> [String: JSONValue] {
            guard let jwt = r.headers["X-Gatehouse-Assertion"] else { return [:] }
            var c = try CompactJWS(jwt).claims
            for k in ["jti", "iat", "nbf", "exp"] { c[k] = nil }
            return c
        }
        let gateway = w.f.app.gateway
        func counted() -> Int { gateway.admissionsFromConnections.load(ordering: .relaxed) }
        /// Every caller, both ways in, twice each, on the shared connection and on their own; returns how many
        /// answers came from a connection.
        func same(_ step: String, _ target: String = "/apps/portal/x") async throws -> Int {
            let before = counted()
            for who in [w.mia, w.olga, stranger] {
                for verify in [true, false] {
                    for memory in [shared, own[who.cookie ?? ""], shared, own[who.cookie ?? ""]] {
                        // The connection's way first: a stale answer from it would differ from what follows.
                        let mine = await ask(w.f.client, who, target, verify: verify, on: memory)
                        let looked = await ask(w.f.client, who, target, verify: verify, on: nil)
                        let oracle = await ask(twin, who, target, verify: verify, on: nil)
                        let at = "\(step) verify=\(verify) \(who.cookie == nil ? "stranger" : "")"
                        #expect(mine.status == oracle.status, "\(at): \(mine.status) vs \(oracle.status)")
                        #expect(mine.bodyText == oracle.bodyText && mine.bodyText == looked.bodyText, "\(at)")
                        #expect(mine.headers["Location"] == looked.headers["Location"], "\(at)")
                        for h in ["X-Gatehouse-User", "X-Gatehouse-Email", "X-Gatehouse-Org", "X-Gatehouse-App-Role"] {
                            #expect(
                                mine.headers[h] == oracle.headers[h] && mine.headers[h] == looked.headers[h], "\(at)")
                        }
                        #expect(
                            mine.headers["X-Gatehouse-Assertion"] == looked.headers["X-Gatehouse-Assertion"], "\(at)")
                        #expect(try claims(mine) == claims(oracle), "\(at)")
                    }
                }
            }
            return counted() - before
        }
        // Mia is let in: her own connection's second asks (and her shared ones after her own) are answered from
        // it; Olga's and the stranger's are refused by the lookups each time (nothing remembered for a refusal).
        #expect(try await same("allowed") > 0)
        w.f.clock.advance(by: 0.4)
        #expect(try await same("0.4 s later") > 0)
        /// Mia's next ask on her own connection is not answered from it (then the lookups remember again).
        func notTaken(_ step: String) async {
            let before = counted()
            let mine = await ask(w.f.client, w.mia, "/apps/portal/x", verify: true, on: own[w.mia.cookie ?? ""])
            #expect(counted() == before, "\(step)")
            #expect(mine.status == 200, "\(step)")
        }
        w.f.clock.advance(by: 0.7)
        await notTaken("past the decision's life")
        #expect(try await same("past the decision's life") > 0, "remembered again after asking again")
        w.f.clock.advance(by: -5)
        await notTaken("the clock set back: nothing made in the future is taken")
        #expect(try await same("the clock set back") > 0)
        w.f.clock.advance(by: 5.5)
        #expect(try await same("another app", "/apps/studio/x") == 0)
        #expect(try await same("back to the portal") > 0)
        // 2.1 s after the session was last read (its remembered copy lives 2 s), 0.5 s into the decision's life.
        w.f.clock.advance(by: 0.5)
        await notTaken("the session's remembered copy too old")
        #expect(try await same("the session read again") > 0)
        org = "org_eu_zzzzzzzzzzzzzzzz"
        #expect(try await same("another working org") == 0)
        org = w.org
        #expect(try await same("the working org again") > 0)
        _ = await w.olga.call(
            "PATCH", "/api/v1/orgs/\(w.org)/apps/\(w.app)",
            #"{"rule":{"roles":["owner"],"appRoles":[],"conditions":[]}}"#)
        #expect(try await same("rule for owners only") == 0, "a write: asked again, and refused")
        _ = await w.olga.call(
            "PATCH", "/api/v1/orgs/\(w.org)/apps/\(w.app)",
            #"{"rule":{"roles":["manager","owner"],"appRoles":[],"conditions":[]}}"#)
        #expect(try await same("rule for members again") > 0)
        _ = await w.olga.call("DELETE", "/api/v1/orgs/\(w.org)/members/\(w.miaID)")
        #expect(try await same("removed") == 0)
        #expect(await w.olga.call("POST", "/api/v1/auth/logout").status == 204)
        #expect(try await same("signed out") == 0)
    }

    /// View as, inside the app: an owner opens the Portal as Mia — the upstream gets Mia's identity with an `act`
    /// claim naming the owner and a read-only marker, writes are refused by the gateway, HTML pages carry a banner,
    /// start and end are audited; Mia may not view the app as the owner (rank), and nobody across orgs.
    @Test func viewAsInsideTheAppIsReadOnlyAndSaysWhoIsLooking() async throws {
        let w = try await Self.world()
        _ = await w.olga.call(
            "POST", "/api/v1/orgs/\(w.org)/apps/\(w.app)/grants", "{\"member\":\"\(w.miaID)\",\"role\":\"viewer\"}")
        _ = await w.olga.call(
            "PATCH", "/api/v1/orgs/\(w.org)/members/\(w.miaID)", #"{"userVariables":{"team":"blue"}}"#)
        let olga = FormBrowser(w.f.client)
        olga.cookies[Sessions.cookieName] = w.olga.cookie
        let start = await olga.go("GET", "/console/\(w.org)/apps/\(w.app)/view-as?member=\(w.miaID)")
        #expect(start.status == 303 && start.location == "/apps/portal/", "\(start.body)")
        #expect(olga.cookies[AppViewAs.cookie] != nil)
        let page = await olga.go("GET", "/apps/portal/home.html")
        #expect(page.status == 200 && page.body.contains("id=\"gatehouse-view-as\"") && page.body.contains("read-only"))
        #expect(page.body.hasPrefix("<html><body class=\"x\"><div role=\"status\""), "banner right after <body>")
        let seen = try #require(w.upstream.last)
        #expect(seen.headers["x-gatehouse-user"] == w.miaID && seen.headers["x-gatehouse-read-only"] == "1")
        let jws = try CompactJWS(try #require(seen.headers["x-gatehouse-assertion"]))
        let olgaID = try #require(try await w.f.app.gateway.accounts.find(email: "olga@acme.test")?.id)
        #expect(jws.claims["sub"] == .string(w.miaID) && jws.claims["read_only"] == .bool(true))
        #expect(jws.claims["act"] == .object(["sub": .string(olgaID), "email": .string("olga@acme.test")]))
        // Writes never reach the app.
        let count = w.upstream.seen.withLock { $0.count }
        let post = await olga.go("POST", "/apps/portal/save", form: [("x", "1")])
        #expect(post.status == 403 && post.body.contains("read-only"))
        #expect(w.upstream.seen.withLock { $0.count } == count)
        // Stop: audited, the cookie gone, Olga is herself again (she holds no grant: refused).
        #expect(await olga.go("GET", "/console/\(w.org)/apps/\(w.app)/view-as-end").status == 303)
        #expect(olga.cookies[AppViewAs.cookie] == nil)
        #expect(await olga.go("GET", "/apps/portal/home.html").status == 403)
        let audit = await w.olga.call("GET", "/api/v1/orgs/\(w.org)/audit?target=\(w.miaID)")
        #expect(audit.body.contains("app.view_as_started") && audit.body.contains("app.view_as_ended"))
        // Mia may not look through the owner's eyes; a forged cookie naming the owner is refused by the region.
        let mia = FormBrowser(w.f.client)
        mia.cookies[Sessions.cookieName] = w.mia.cookie
        let up = await mia.go("GET", "/console/\(w.org)/apps/\(w.app)/view-as?member=\(olgaID)")
        #expect(up.status == 403 && up.body.contains("member_outranks_you") == false && up.body.contains("permissions"))
        mia.cookies[AppViewAs.cookie] = AppViewAs.value(org: w.org, member: olgaID, slug: "portal")
        mia.cookies["gh_org"] = w.org
        #expect(await mia.go("GET", "/apps/portal/home.html").status == 403)
    }

    /// Export from an EU org, import into a US org: the definition travels (name, slug, upstream, rule), nothing of
    /// the org does; rule roles the target lacks and a taken slug are reported to set again; hostile uploads refused.
    @Test func anAppTravelsFromAnEUOrgToAUSOrgWithoutItsPeople() async throws {
        let w = try await Self.world()
        #expect(
            await w.olga.call(
                "POST", "/api/v1/orgs/\(w.org)/roles", #"{"name":"Ops","permissions":["org.view","members.view"]}"#
            ).status == 201)
        _ = await w.olga.call(
            "PATCH", "/api/v1/orgs/\(w.org)/apps/\(w.app)",
            #"{"rule":{"roles":["manager","custom-ops"],"appRoles":["editor"],"#
                + #""conditions":[{"variable":"team","op":"equals","values":["blue"]}]}}"#)
        _ = await w.olga.call(
            "POST", "/api/v1/orgs/\(w.org)/apps/\(w.app)/grants", "{\"member\":\"\(w.miaID)\",\"role\":\"editor\"}")
        var export = Request(
            method: "GET", target: "/api/v1/orgs/\(w.org)/apps/\(w.app)/export",
            headers: ["Host": "gh.test", "Cookie": "\(Sessions.cookieName)=\(w.olga.cookie ?? "")"], id: "e",
            remoteAddress: "10.20.0.1")
        let zipped = await w.f.client.responder.respond(to: export)
        #expect(zipped.status == 200 && zipped.headers["Content-Type"] == "application/zip")
        #expect(zipped.headers["Content-Disposition"] == "attachment; filename=\"portal.gatehouse-app.zip\"")
        let files = try ZipArchive.read(zipped.body)
        let json = String(decoding: try #require(files.first { $0.name == "app.json" }).data, as: UTF8.self)
        #expect(json.contains("\"slug\" : \"portal\"") && !json.contains(w.miaID) && !json.contains(w.org))
        // A US org of the same owner.
        let link = try await w.f.app.gateway.bootstrapRegionAdmin(email: "ops-us@x.test", region: .us)
        let ops = w.f.browser("10.20.1.1")
        #expect(
            await ops.call("POST", "/api/v1/auth/bootstrap", "{\"token\":\"\(link)\",\"password\":\"operator-pass-9\"}")
                .status == 200)
        let p = await ops.call("POST", "/api/v1/regions/us/orgs", #"{"name":"Acme US","ownerEmail":"olga@acme.test"}"#)
        let us = try #require((p.json["org"] as? [String: Any])?["id"] as? String)
        let ownerToken = try #require((p.json["ownerInviteURL"] as? String)?.components(separatedBy: "/invite/").last)
        #expect(await w.olga.call("POST", "/api/v1/invites/\(ownerToken)/accept").status == 200)
        func importInto(_ org: String, _ body: [UInt8]) async -> Response {
            await w.f.client.responder.respond(
                to: Request(
                    method: "POST", target: "/api/v1/orgs/\(org)/apps/import",
                    headers: [
                        "Host": "gh.test", "Cookie": "\(Sessions.cookieName)=\(w.olga.cookie ?? "")",
                        "X-CSRF-Token": w.olga.csrf ?? "", "Content-Type": "application/zip",
                    ], body: body, id: "i", remoteAddress: "10.20.0.1"))
        }
        let imported = await importInto(us, zipped.body)
        #expect(imported.status == 201, "\(imported.bodyText)")
        let result = try JSONSerialization.jsonObject(with: Data(imported.body)) as? [String: Any]
        let app = result?["app"] as? [String: Any]
        // The US org has its own Portal (a starting page) at /apps/portal/: the import leaves the slug to choose.
        #expect(app?["name"] as? String == "Portal" && app?["slug"] == nil)
        #expect(app?["upstream"] as? String == "http://127.0.0.1:\(w.upstream.port)/base")
        #expect((app?["rule"] as? [String: Any])?["roles"] as? [String] == ["manager"])
        #expect((app?["id"] as? String)?.isEmpty == false && (app?["memberCount"] as? Int ?? 0) == 0)
        let again = result?["toSetAgain"] as? [String] ?? []
        #expect(again.contains { $0.contains("custom-ops") } && again.contains { $0.contains("user-variable") })
        #expect(again.contains { $0.contains("slug portal is taken") })
        #expect((result?["leftBehind"] as? [String])?.contains("members and their access") == true)
        // Nobody of the EU org came along.
        let usMembers = await w.olga.call("GET", "/api/v1/orgs/\(us)/members")
        #expect(!usMembers.body.contains("mia@acme.test"))
        // Hostile uploads: not a ZIP, a ZIP without app.json, too large.
        #expect(await importInto(us, Array("not a zip".utf8)).status == 422)
        #expect(await importInto(us, ZipArchive.write([.init(name: "x.json", data: [1])])).status == 422)
        #expect(await importInto(us, [UInt8](repeating: 0, count: 2 << 20)).status == 413)
        // The console's import form: multipart/form-data with the form's token and the file.
        let olga = FormBrowser(w.f.client)
        olga.cookies[Sessions.cookieName] = w.olga.cookie
        let appsPage = await olga.go("GET", "/console/\(us)/apps")
        #expect(appsPage.body.contains("enctype=\"multipart/form-data\""))
        let boundary = "----gh\(UUID().uuidString)"
        var form: [UInt8] = Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n\(olga.csrf)\r\n--\(boundary)\r\n"
                .utf8)
        form += Array(
            ("Content-Disposition: form-data; name=\"file\"; filename=\"portal.zip\"\r\n"
                + "Content-Type: application/zip\r\n\r\n").utf8)
        form += zipped.body + Array("\r\n--\(boundary)--\r\n".utf8)
        let uploaded = await w.f.client.responder.respond(
            to: Request(
                method: "POST", target: "/console/\(us)/apps/import",
                headers: [
                    "Host": "gh.test", "Cookie": "\(Sessions.cookieName)=\(w.olga.cookie ?? "")",
                    "Content-Type": "multipart/form-data; boundary=\(boundary)",
                ], body: form, id: "m", remoteAddress: "10.20.0.1"))
        #expect(uploaded.status == 201 && uploaded.bodyText.contains("Imported <strong>Portal</strong>"))
        #expect(uploaded.bodyText.contains("id=\"left-behind\"") && uploaded.bodyText.contains("id=\"set-again\""))
        export.headers.set("Cookie", "\(Sessions.cookieName)=\(w.mia.cookie ?? "")")
        #expect(await w.f.client.responder.respond(to: export).status == 200, "a manager may (apps.create)")
    }

    /// Rotation: a new key signs after a restart, the previous stays published (tokens already out keep verifying),
    /// and only the two newest are published.
    @Test func assertionKeysRotateWithBothPublished() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gh-keys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try AppAssertions(directory: dir)
        let id = AppIdentity(
            accountID: "acc_1", email: "a@x.test", name: "A", orgID: "org_eu_x", region: "eu", roles: ["member"],
            appRole: .viewer, userVariables: [:], agency: nil)
        let entry = AppEntryAnswer(
            appID: "app_1", appName: "Portal", slug: "portal", upstream: nil, allowed: true, code: "allowed",
            reason: "",
            identity: id)
        let old = try CompactJWS(try first.sign(id, app: entry, issuer: "https://gh.test", now: Date()))
        Thread.sleep(forTimeInterval: 1.1)  // key names sort by second
        let kid = try AppAssertions.addKey(directory: dir)
        let second = try AppAssertions(directory: dir)
        let set = try JWKSet(json: second.jwks)
        try old.verify(with: try set.key(for: old))
        let fresh = try CompactJWS(try second.sign(id, app: entry, issuer: "https://gh.test", now: Date()))
        #expect(fresh.keyID == kid && fresh.keyID != old.keyID)
        try fresh.verify(with: try set.key(for: fresh))
        Thread.sleep(forTimeInterval: 1.1)
        _ = try AppAssertions.addKey(directory: dir)
        let third = try AppAssertions(directory: dir)
        let newest = try JWKSet(json: third.jwks)
        #expect(throws: (any Error).self) { try old.verify(with: try newest.key(for: old)) }
    }

    @Test func theOperatorDecidesWhichUpstreamsTheGatewayMayReach() throws {
        var s = GatewaySettings()
        #expect(!s.allowsUpstream(host: "127.0.0.1", port: 80), "nothing by default")
        s.appUpstreams = ["127.0.0.1:*", "*.apps.internal:443", "portal.example:8443"]
        #expect(s.allowsUpstream(host: "127.0.0.1", port: 9000))
        #expect(
            s.allowsUpstream(host: "crm.apps.internal", port: 443)
                && !s.allowsUpstream(host: "crm.apps.internal", port: 80))
        #expect(!s.allowsUpstream(host: "apps.internal.evil.test", port: 443))
        #expect(s.allowsUpstream(host: "PORTAL.example", port: 8443) && !s.allowsUpstream(host: "10.0.0.1", port: 8443))
    }

    @Test func rulesAndUpstreamsAreCheckedWhenSaved() async throws {
        let w = try await Self.world()
        for (body, status) in [
            (#"{"slug":"Bad Slug"}"#, 422), (#"{"upstream":"ftp://x"}"#, 422),
            (#"{"upstream":"http://user:pw@x.test"}"#, 422),
            (#"{"rule":{"roles":["nope"],"appRoles":[],"conditions":[]}}"#, 422),
            (#"{"rule":{"roles":[],"appRoles":[],"conditions":[{"variable":"t","op":"equals","values":[]}]}}"#, 422),
        ] {
            #expect(await w.olga.call("PATCH", "/api/v1/orgs/\(w.org)/apps/\(w.app)", body).status == status, "\(body)")
        }
        let other = try #require(
            (await w.olga.call("POST", "/api/v1/orgs/\(w.org)/apps", #"{"name":"CRM"}"#)).json["id"] as? String)
        #expect(await w.olga.call("PATCH", "/api/v1/orgs/\(w.org)/apps/\(other)", #"{"slug":"portal"}"#).status == 409)
        // "Would Mia get in?" says why not.
        let check = await w.olga.call("GET", "/api/v1/orgs/\(w.org)/apps/\(w.app)/check?member=\(w.miaID)")
        #expect(check.json["allowed"] as? Bool == false && check.json["code"] as? String == "no_app_access")
    }
}

/// Bad input to this round's routes: a clear 4xx (JSON for the API), nothing changed, the server still answering.
@Suite("This round's routes refuse bad input cleanly")
struct BadInputTests {
    @Test func everyNewRouteAnswersBadInputWithAClearRefusal() async throws {
        let w = try await AppGateTests.world()
        let o = "/api/v1/orgs/\(w.org)"
        let cases: [(String, String, String?, ClosedRange<Int>)] = [
            ("POST", "\(o)/agencies", "{", 400...400),
            ("POST", "\(o)/agencies", #"{"agency":42}"#, 422...422),
            ("POST", "\(o)/agencies", #"{"agency":"agy_nope"}"#, 404...404),
            ("POST", "\(o)/agencies/agy_nope/grants", #"{"apps":[],"role":"viewer","emails":"a@b.test"}"#, 404...422),
            ("POST", "\(o)/agencies/agy_nope/grants", #"{"apps":["x"],"role":"god","emails":"a@b.test"}"#, 422...422),
            ("POST", "\(o)/agencies/agy_nope/revoke", #"{"members":[]}"#, 422...422),
            ("POST", "\(o)/agency-requests", #"{"name":"","domains":["x.test"]}"#, 422...422),
            ("POST", "\(o)/agency-requests", #"{"name":"A","domains":[]}"#, 422...422),
            ("POST", "/api/v1/regions/eu/agencies", #"{"name":"A","domains":["x.test"]}"#, 403...403),
            ("POST", "/api/v1/regions/eu/agency-requests/agr_x/maybe", nil, 403...404),
            ("PATCH", "\(o)/apps/\(w.app)", #"{"rule":{"roles":[],"appRoles":["god"],"conditions":[]}}"#, 422...422),
            (
                "PATCH", "\(o)/apps/\(w.app)", #"{"upstream":"http://\#(String(repeating: "a", count: 400)).test"}"#,
                422...422
            ),
            ("PATCH", "\(o)/apps/app_nope", #"{"slug":"x"}"#, 404...404),
            ("GET", "\(o)/apps/\(w.app)/check", nil, 422...422),
            ("GET", "\(o)/apps/\(w.app)/check?member=nobody", nil, 404...404),
            ("POST", "\(o)/apps/import", "", 422...422),
            ("POST", "\(o)/apps/\(w.app)/view-as", #"{"member":"nobody","started":true}"#, 404...404),
            (
                "POST", "/api/v1/auth/password/forgot", #"{"email":"\#(String(repeating: "x", count: 5000))@x.test"}"#,
                422...422
            ),
            ("POST", "/api/v1/auth/password/reset", #"{"token":"x","password":"long-enough-pass"}"#, 410...410),
            ("POST", "/api/v1/auth/password/reset", "[]", 422...422),
            ("GET", "/apps/", nil, 404...404),
            ("GET", "/apps/\(String(repeating: "x", count: 9000))", nil, 400...431),
            ("GET", "/apps/Portal%00/", nil, 400...400),
            ("GET", "/auth/verify", nil, 404...404),
            ("GET", "/metrics", nil, 404...404),
        ]
        for (method, path, body, expected) in cases {
            let r = await w.olga.call(method, path, body)
            #expect(expected.contains(r.status), "\(method) \(path.prefix(80)): \(r.status) \(r.body.prefix(200))")
            if path.hasPrefix("/api/") && r.status != 404 {
                #expect(r.json["error"] != nil, "\(method) \(path.prefix(80)): JSON error shape")
            }
        }
        #expect(await w.olga.call("GET", "/healthz").status == 200, "still answering")
        let apps = await w.olga.call("GET", "\(o)/apps")
        #expect(apps.body.contains("\"slug\":\"portal\""), "nothing changed")
    }
}
