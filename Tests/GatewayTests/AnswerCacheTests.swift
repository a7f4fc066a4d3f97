import App
import Foundation
import GatehouseCore
import Gateway
import HTTP
import Synchronization
import Tenant
import TenantAPI
import TenantDomain
import Testing
import Web

/// Remembered answers (`ResponseCache`: region reads, console pages) must be exactly what the same request gets
/// without them, for every read route and every kind of caller, and must go stale at the first write or after
/// their time. The oracle is a second app over the same stores with the cache off.
@Suite("Answer cache: the same answers as without it, stale at the first write")
struct AnswerCacheTests {
    /// A request as the server would pass it: the event-loop attempt first, else the async path.
    static func ask(
        _ app: GatehouseApp, _ target: String, _ headers: HTTPHeaders, method: String = "GET"
    ) async
        -> (response: Response, immediate: Bool)
    {
        var h = headers
        h.set("Host", "test")
        let request = Request(method: method, target: target, headers: h, id: "ac", remoteAddress: "10.9.0.1")
        if let r = app.router.respondImmediately(to: request) { return (r, true) }
        return (await app.router.respond(to: request), false)
    }

    struct World {
        let f: GatewayFixture
        let org: String
        let olga: Browser
        let mia: Browser
        let miaID: String
        let key: String
        let opsCookie: String
    }

    static func world() async throws -> World {
        let f = try GatewayFixture()
        let (org, olga, token) = try await PageTests.orgWithInvite(f, email: "mia@acme.test", roles: #"["viewer"]"#)
        let mia = f.browser("10.5.0.1")
        #expect(
            await mia.call("POST", "/api/v1/invites/\(token)/accept", #"{"password":"mia-password-long"}"#).status
                == 200)
        let miaID = try await #require(try f.app.gateway.accounts.find(email: "mia@acme.test")?.id)
        for i in 0..<3 {
            #expect(
                await olga.call(
                    "POST", "/api/v1/orgs/\(org)/invites", "{\"emails\":[\"p\(i)@acme.test\"],\"roles\":[\"member\"]}"
                ).status
                    == 201)
        }
        #expect(await olga.call("POST", "/api/v1/orgs/\(org)/apps", #"{"name":"Portal"}"#).status == 201)
        let key = try #require(
            await olga.call("POST", "/api/v1/orgs/\(org)/apikeys", #"{"name":"k"}"#).json["secret"] as? String)
        let ops = f.browser("10.8.0.1")
        #expect(
            await ops.call("POST", "/api/v1/auth/login", #"{"email":"ops@x.test","password":"operator-pass-1"}"#)
                .status == 200)
        return World(
            f: f, org: org, olga: olga, mia: mia, miaID: miaID, key: key, opsCookie: try #require(ops.cookie))
    }

    @Test func everyReadAnswersAsWithoutTheCache() async throws {
        let w = try await Self.world()
        let twin = try w.f.uncachedTwin()
        let org = w.org
        let callers: [(String, HTTPHeaders)] = [
            ("owner", ["Cookie": "gh_session=\(w.olga.cookie ?? "")"]),
            ("viewer", ["Cookie": "gh_session=\(w.mia.cookie ?? "")"]),
            ("API key", ["Authorization": "Bearer \(w.key)"]),
            ("region admin", ["Cookie": "gh_session=\(w.opsCookie)"]),
            ("nobody", [:]),
        ]
        let targets = [
            "/api/v1/orgs/\(org)", "/api/v1/orgs/\(org)/members?limit=50", "/api/v1/orgs/\(org)/members?limit=1",
            "/api/v1/orgs/\(org)/members?sort=last_active&desc=true", "/api/v1/orgs/\(org)/members/\(w.miaID)",
            "/api/v1/orgs/\(org)/members/\(w.miaID)/permissions", "/api/v1/orgs/\(org)/invites?limit=50",
            "/api/v1/orgs/\(org)/roles", "/api/v1/orgs/\(org)/apps", "/api/v1/orgs/\(org)/apikeys",
            "/api/v1/orgs/\(org)/audit?limit=50", "/api/v1/orgs/\(org)/audit/export",
            "/api/v1/orgs/org_eu_zzzzzzzzzzzzzzzz/members", "/api/v1/regions/eu/orgs", "/api/v1/me",
            "/console/\(org)/members", "/console/\(org)/invites", "/console/\(org)/audit", "/console/\(org)/roles",
        ]
        // The CSRF key is the store's (one for every process sharing it); rewriting the twin's tokens to ours keeps
        // the comparison honest should that ever change.
        let sessions = [w.olga.cookie, w.mia.cookie, w.opsCookie].compactMap { $0 }
        func sameCSRF(_ text: String) -> String {
            sessions.reduce(text) {
                $0.replacingOccurrences(
                    of: twin.gateway.sessions.csrfToken(for: $1), with: w.f.app.gateway.sessions.csrfToken(for: $1))
            }
        }
        var remembered = 0
        for (who, headers) in callers {
            for target in targets {
                // Three times: the first fills the cache, the later ones may be answered from it.
                for round in 0..<3 {
                    let (ours, immediate) = await Self.ask(w.f.app, target, headers)
                    let (oracle, _) = await Self.ask(twin, target, headers)
                    #expect(ours.status == oracle.status, "\(who) \(target) round \(round)")
                    #expect(ours.bodyText == sameCSRF(oracle.bodyText), "\(who) \(target) round \(round)")
                    #expect(
                        ours.headers["Content-Type"] == oracle.headers["Content-Type"], "\(who) \(target) \(round)")
                    if round == 2 && immediate { remembered += 1 }
                }
            }
        }
        // The cache is in use (not a test of an idle path): most reads by a known caller come from it. On
        // PostgreSQL the event loop answers only from memory, never after a read of its own (a session or account
        // not yet remembered, after the twin's writes moved the generation), so somewhat fewer come at once.
        let floor = w.f.app.gateway.db.readsAreLocal ? 40 : 30
        #expect(remembered >= floor, "answered from memory: \(remembered)")
    }

    @Test func aWriteIsSeenByTheVeryNextRead() async throws {
        let w = try await Self.world()
        let org = w.org
        let owner: HTTPHeaders = ["Cookie": "gh_session=\(w.olga.cookie ?? "")"]
        let viewer: HTTPHeaders = ["Cookie": "gh_session=\(w.mia.cookie ?? "")"]
        let bearer: HTTPHeaders = ["Authorization": "Bearer \(w.key)"]
        let members = "/api/v1/orgs/\(org)/members?limit=50"
        for h in [owner, viewer, bearer] {
            _ = await Self.ask(w.f.app, members, h)
            #expect(await Self.ask(w.f.app, members, h).immediate, "remembered")
        }
        // A role change: the next read by anyone shows it.
        #expect(
            await w.olga.call("PATCH", "/api/v1/orgs/\(org)/members/\(w.miaID)", #"{"roles":["manager"]}"#).status
                == 200)
        let after = await Self.ask(w.f.app, members, owner)
        #expect(!after.immediate)
        #expect(after.response.bodyText.contains("\"manager\""))
        // The viewer, now a manager, may read invites; a remembered refusal would say otherwise.
        let invites = "/api/v1/orgs/\(org)/invites"
        #expect(await Self.ask(w.f.app, invites, viewer).response.status == 200)
        // Removal: her reads are refused at once, remembered or not.
        _ = await Self.ask(w.f.app, members, viewer)
        #expect(await w.olga.call("DELETE", "/api/v1/orgs/\(org)/members/\(w.miaID)").status == 204)
        #expect(await Self.ask(w.f.app, members, viewer).response.status == 404)
        #expect(await Self.ask(w.f.app, "/api/v1/orgs/\(org)", viewer).response.status == 404)
        // A revoked API key is refused by the very next request (rule 6), on either path.
        #expect(await Self.ask(w.f.app, members, bearer).response.status == 200)
        let keys = await w.olga.call("GET", "/api/v1/orgs/\(org)/apikeys")
        let list = try JSONSerialization.jsonObject(with: Data(keys.body.utf8)) as? [[String: Any]]
        let keyID = try #require(list?.first?["id"] as? String)
        #expect(await w.olga.call("DELETE", "/api/v1/orgs/\(org)/apikeys/\(keyID)").status == 204)
        #expect(await Self.ask(w.f.app, members, bearer).response.status == 401)
        #expect(await Self.ask(w.f.app, "/api/v1/orgs/\(org)", bearer).response.status == 401)
    }

    @Test func anAnswerLivesAtMostASecond() async throws {
        let w = try await Self.world()
        let owner: HTTPHeaders = ["Cookie": "gh_session=\(w.olga.cookie ?? "")"]
        let invites = "/api/v1/orgs/\(w.org)/invites?limit=50"
        _ = await Self.ask(w.f.app, invites, owner)
        #expect(await Self.ask(w.f.app, invites, owner).immediate)
        w.f.clock.advance(by: 0.5)
        #expect(await Self.ask(w.f.app, invites, owner).immediate, "half a second: still remembered")
        w.f.clock.advance(by: 0.6)
        #expect(!(await Self.ask(w.f.app, invites, owner).immediate), "over a second: read again")
        // Time alone changes this answer: the invitations expire without a write, and the list says so at once.
        w.f.clock.advance(by: 30 * 86400)
        let twin = try w.f.uncachedTwin()
        let later = await Self.ask(w.f.app, invites, owner).response
        #expect(later.bodyText == (await Self.ask(twin, invites, owner)).response.bodyText)
    }

    @Test func consolePagesFollowWritesSessionsAndFlashes() async throws {
        let w = try await Self.world()
        let page = "/console/\(w.org)/members"
        let owner: HTTPHeaders = ["Cookie": "gh_session=\(w.olga.cookie ?? "")"]
        let first = await Self.ask(w.f.app, page, owner)
        #expect(first.response.status == 200 && !first.immediate)
        let second = await Self.ask(w.f.app, page, owner)
        #expect(second.immediate && second.response.bodyText == first.response.bodyText)
        // A rename in the region shows on the next load.
        #expect(await w.olga.call("PATCH", "/api/v1/orgs/\(w.org)", #"{"name":"Renamed Co"}"#).status == 200)
        let renamed = await Self.ask(w.f.app, page, owner)
        #expect(!renamed.immediate && renamed.response.bodyText.contains("Renamed Co"))
        // A flash message is shown once and never remembered.
        var flashed = owner
        flashed.set(
            "Cookie", "gh_session=\(w.olga.cookie ?? ""); gh_flash=\(Base64URL.encode(Array("Saved it.".utf8)))")
        let withFlash = await Self.ask(w.f.app, page, flashed)
        #expect(withFlash.response.bodyText.contains("Saved it."))
        #expect(!(await Self.ask(w.f.app, page, flashed).immediate))
        // Signed out: the remembered page is not given to the old cookie.
        _ = await Self.ask(w.f.app, page, owner)
        #expect(await w.olga.call("POST", "/api/v1/auth/logout").status == 204)
        let gone = await Self.ask(w.f.app, page, owner)
        #expect(!gone.immediate && gone.response.status == 303)
    }
}

@Suite("ResponseCache and GenerationCache")
struct ResponseCacheUnitTests {
    @Test func generationsAndCapacity() {
        let c = GenerationCache<String, Int>(capacity: 3)
        c.store(1, for: "a", generation: 5)
        #expect(c.lookup("a", generation: 5) == 1)
        #expect(c.lookup("a", generation: 6) == nil, "a write since: stale")
        c.store(2, for: "b", generation: 6)
        #expect(c.lookup("a", generation: 6) == nil && c.lookup("b", generation: 6) == 2)
        c.store(3, for: "c", generation: 5)
        #expect(
            c.lookup("c", generation: 5) == nil && c.lookup("c", generation: 6) == nil, "older than the cache: dropped")
        c.store(4, for: "d", generation: 6, cost: 2)
        c.store(5, for: "e", generation: 6, cost: 1)
        #expect(c.count == 1 && c.lookup("e", generation: 6) == 5, "full: started over")
        c.store(6, for: "f", generation: 6, cost: 4)
        #expect(c.lookup("f", generation: 6) == nil, "larger than the whole cache: not kept")
    }

    @Test func concurrentMissesReadOnce() async throws {
        let cache = ResponseCache<String>(capacity: 1 << 20)
        final class Counter: Sendable { let n = Mutex(0) }
        let reads = Counter()
        let answers = await withTaskGroup(of: String.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    await cache.coalescing("k", generation: 1) {
                        reads.n.withLock { $0 += 1 }
                        try? await Task.sleep(for: .milliseconds(100))
                        return Response(status: 200, contentType: "text/plain", body: "one")
                    }.bodyText
                }
            }
            var all: [String] = []
            for await a in group { all.append(a) }
            return all
        }
        #expect(answers == Array(repeating: "one", count: 20))
        #expect(reads.n.withLock { $0 } == 1)
        // Another generation is another read; a failed read leaves each waiter to read for itself.
        struct Failed: Error {}
        await #expect(throws: Failed.self) {
            try await cache.coalescing("k", generation: 2) { throw Failed() }
        }
        let again = await cache.coalescing("k", generation: 2) {
            Response(status: 200, contentType: "text/plain", body: "two")
        }
        #expect(again.bodyText == "two")
    }

    @Test func onlyPlainSuccessesAreRemembered() {
        let cache = ResponseCache<String>(capacity: 1 << 20)
        let now = Date()
        var cases: [(String, Response)] = [
            ("404", Response(status: 404, contentType: "text/plain", body: "no")),
            ("201", Response(status: 201, contentType: "text/plain", body: "made")),
            ("closing", Response(status: 200, headers: [:], body: [1], closeConnection: true)),
        ]
        var cookie = Response(status: 200, contentType: "text/plain", body: "c")
        cookie.headers.add("Set-Cookie", "a=b")
        cases.append(("cookie", cookie))
        cases.append(("too big", Response(status: 200, headers: [:], body: Array(repeating: 0, count: (1 << 20) + 1))))
        for (name, r) in cases {
            var r = r
            cache.remember(&r, name, generation: 1, now: now)
            #expect(cache.answer(name, generation: 1, now: now) == nil, "\(name)")
        }
        var ok = Response(status: 200, contentType: "text/plain", body: "fine")
        cache.remember(&ok, "ok", generation: 1, now: now)
        #expect(cache.answer("ok", generation: 1, now: now)?.bodyText == "fine")
        #expect(cache.answer("ok", generation: 1, now: now.addingTimeInterval(-0.1)) == nil, "clock went back")
    }
}

@Suite("/me written by the byte writer")
struct MeAnswerWriterTests {
    /// `/me` is written by `JSONWriter`: for each kind of caller (pending invites, an API key's one org, a region
    /// admin) its bytes parse to what JSONEncoder writes for the same value.
    @Test func writerAgreesWithTheEncoder() async throws {
        let w = try await AnswerCacheTests.world()
        _ = await w.olga.call("POST", "/api/v1/orgs/\(w.org)/invites", #"{"emails":["ops@x.test"],"roles":["member"]}"#)
        let callers: [HTTPHeaders] = [
            ["Cookie": "gh_session=\(w.olga.cookie ?? "")"], ["Authorization": "Bearer \(w.key)"],
            ["Cookie": "gh_session=\(w.opsCookie)"],
        ]
        var seen: Set<String> = []
        for h in callers {
            let r = await AnswerCacheTests.ask(w.f.app, "/api/v1/me", h).response
            #expect(r.status == 200)
            let value = try #require(r.value as? MeAnswer)
            let viaEncoder = try JSONSerialization.jsonObject(with: try JSONCoding.encoder().encode(value)) as? NSObject
            let viaWriter = try JSONSerialization.jsonObject(with: Data(r.body)) as? NSObject
            #expect(viaEncoder != nil && viaEncoder == viaWriter, "\(r.bodyText)")
            for k in ["regionAdminOf", "scopeOrg", "csrfToken", "inviterName"] where r.bodyText.contains(k) {
                seen.insert(k)
            }
        }
        #expect(seen == ["regionAdminOf", "scopeOrg", "csrfToken", "inviterName"], "every optional part was written")
    }
}
