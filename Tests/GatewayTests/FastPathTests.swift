import Foundation
import GatehouseCore
import Gateway
import HTTP
import Tenant
import TenantAPI
import TenantDomain
import Testing

/// `GET /api/v1/orgs/:org` is answered on the event loop when it can be (session cookie, region in this
/// process). Whatever it answers must be exactly what the forwarded path answers, for every kind of caller.
@Suite("Gateway fast path: the same answers as the forward")
struct FastPathTests {
    @Test func fastAndForwardedAnswersAgree() async throws {
        let f = try GatewayFixture()
        let (org, olga, _) = try await PageTests.orgWithInvite(
            f, email: "sso@acme.test", roles: #"["member"]"#, ssoOnly: true)
        let eu = try f.service(.eu)
        // An SSO-only member signed in with a password (made directly: the pages would not let her in).
        let ssoAccount = try await f.app.gateway.accounts.create(
            email: "sso@acme.test", firstName: "S", lastName: "O", password: "sso-password-long")
        let token = eu.mailedToken(for: try #require(try await eu.pendingInvites(email: "sso@acme.test").first?.invite))
        _ = try await eu.acceptInvite(
            AcceptInviteRequest(token: token, accountID: ssoAccount.id, email: ssoAccount.email))
        let (ssoPassword, _) = try await f.app.gateway.sessions.create(accountID: ssoAccount.id, method: .password)
        let (ssoSAML, _) = try await f.app.gateway.sessions.create(accountID: ssoAccount.id, method: .saml(org: org))
        let stranger = try await f.app.gateway.accounts.create(
            email: "eve@evil.test", firstName: "", lastName: "", password: nil)
        let (strangerSession, _) = try await f.app.gateway.sessions.create(accountID: stranger.id, method: .password)
        let key = await olga.call("POST", "/api/v1/orgs/\(org)/apikeys", #"{"name":"k"}"#).json["secret"] as? String

        let cases: [(String, String, HTTPHeaders, Bool)] = [
            ("owner", "/api/v1/orgs/\(org)", ["Cookie": "gh_session=\(olga.cookie ?? "")"], true),
            ("stranger", "/api/v1/orgs/\(org)", ["Cookie": "gh_session=\(strangerSession)"], true),
            (
                "unknown org", "/api/v1/orgs/org_eu_zzzzzzzzzzzzzzzz", ["Cookie": "gh_session=\(olga.cookie ?? "")"],
                true
            ),
            ("SSO-only with a password session", "/api/v1/orgs/\(org)", ["Cookie": "gh_session=\(ssoPassword)"], true),
            ("SSO-only with its SSO session", "/api/v1/orgs/\(org)", ["Cookie": "gh_session=\(ssoSAML)"], true),
            ("no cookie", "/api/v1/orgs/\(org)", [:], false),
            (
                "unknown session", "/api/v1/orgs/\(org)", ["Cookie": "gh_session=" + String(repeating: "A", count: 43)],
                false
            ),
            ("API key", "/api/v1/orgs/\(org)", ["Authorization": "Bearer \(key ?? "")"], false),
        ]
        let local = f.app.gateway.db.readsAreLocal
        for (name, path, headers, answeredFast) in cases {
            var h = headers
            h.set("Host", "test")
            let request = Request(method: "GET", target: path, headers: h, id: "fp")
            let fast = f.app.router.respondImmediately(to: request)
            let forwarded = await f.app.router.respond(to: request)
            // PostgreSQL: a read is a round trip, so nothing that needs one is answered on the event loop.
            if local {
                #expect((fast != nil) == answeredFast, "\(name): answered on the event loop?")
            } else {
                #expect(fast == nil || answeredFast, "\(name): answered on the event loop?")
            }
            if let fast {
                #expect(fast.status == forwarded.status, "\(name): \(fast.status) vs \(forwarded.status)")
                #expect(fast.bodyText == forwarded.bodyText, "\(name)")
            }
        }
        // Suspended: the same refusal both ways.
        let ops = try await f.euRegionAdmin()
        _ = try await eu.setOrgStatus(ops, region: "eu", org: try #require(OrgID(org)), suspended: true)
        var h: HTTPHeaders = ["Cookie": "gh_session=\(olga.cookie ?? "")"]
        h.set("Host", "test")
        let request = Request(method: "GET", target: "/api/v1/orgs/\(org)", headers: h, id: "fp")
        let forwarded = await f.app.router.respond(to: request)
        let fast = try #require(local ? f.app.router.respondImmediately(to: request) : forwarded)
        #expect(fast.status == 403 && forwarded.status == 403 && fast.bodyText == forwarded.bodyText)
    }

    /// The membership cache behind the fast path: any write in the region is seen by the very next request.
    @Test func aRemovalOrRoleChangeIsSeenAtOnce() async throws {
        let f = try GatewayFixture()
        let (org, olga, token) = try await PageTests.orgWithInvite(f, email: "mia@acme.test", roles: #"["viewer"]"#)
        let mia = f.browser("10.5.0.1")
        #expect(
            await mia.call("POST", "/api/v1/invites/\(token)/accept", #"{"password":"mia-password-long"}"#).status
                == 200)
        let miaID = try await #require(try f.app.gateway.accounts.find(email: "mia@acme.test")?.id)
        func fastStatus() async -> Int {
            var h: HTTPHeaders = ["Cookie": "gh_session=\(mia.cookie ?? "")"]
            h.set("Host", "test")
            let request = Request(method: "GET", target: "/api/v1/orgs/\(org)", headers: h, id: "fp")
            // PostgreSQL answers nothing on the event loop: the same caches are then behind the async way.
            if !f.app.gateway.db.readsAreLocal { return await f.app.router.respond(to: request).status }
            return f.app.router.respondImmediately(to: request)?.status ?? -1
        }
        #expect(await fastStatus() == 200)
        #expect(await fastStatus() == 200, "served from the cache")
        #expect(await olga.call("PATCH", "/api/v1/orgs/\(org)/members/\(miaID)", #"{"ssoOnly":true}"#).status == 200)
        #expect(await fastStatus() == 403, "SSO-only now: a password session is refused at once")
        #expect(await olga.call("PATCH", "/api/v1/orgs/\(org)/members/\(miaID)", #"{"ssoOnly":false}"#).status == 200)
        #expect(await fastStatus() == 200)
        #expect(await olga.call("DELETE", "/api/v1/orgs/\(org)/members/\(miaID)").status == 204)
        #expect(await fastStatus() == 404, "removed: refused at once")
    }
}
