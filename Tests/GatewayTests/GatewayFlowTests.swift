import Foundation
import GatehouseCore
import Gateway
import HTTP
import Tenant
import TenantAPI
import TenantDomain
import Testing

@Suite("Gateway: accounts, sessions, invite links, SSO-only, API keys")
struct GatewayFlowTests {
    /// Region admin bootstrap → provision in EU → owner signs up through the link → owner invites three people
    /// with roles, variables and starting pages → each signs up through their link → a manager is refused an
    /// admin grant → a removed member's API key dies → an old link after a resend fails → SSO-only holds.
    @Test(arguments: [false, true]) func theStory(split: Bool) async throws {
        let f = try GatewayFixture(split: split)
        let g = f.app.gateway
        // Region admin.
        let bootstrap = try await g.bootstrapRegionAdmin(email: "ops@gatehouse.test", region: .eu)
        let ops = f.browser()
        #expect(
            await ops.call(
                "POST", "/api/v1/auth/bootstrap", "{\"token\":\"\(bootstrap)\",\"password\":\"operator-pass-1\"}"
            ).status == 200)
        #expect(
            await f.browser().call(
                "POST", "/api/v1/auth/bootstrap", "{\"token\":\"\(bootstrap)\",\"password\":\"operator-pass-2\"}"
            ).status == 410)
        let provisioned = await ops.call(
            "POST", "/api/v1/regions/eu/orgs", #"{"name":"Acme EU","ownerEmail":"olga@acme.test"}"#)
        #expect(provisioned.status == 201)
        let org = try #require((provisioned.json["org"] as? [String: Any])?["id"] as? String)
        // The mail would carry this link; the outbox has the row (delivery arrives with the mail sender).
        let eu = try f.service(.eu)
        let ownerInvite = try #require(try await eu.pendingInvites(email: "olga@acme.test").first?.invite)
        let ownerLink = eu.mailedToken(for: ownerInvite)
        #expect(
            try eu.db.readNow { try $0.first("SELECT count(*) FROM outbox WHERE recipient = 'olga@acme.test'")?.int(0) }
                == 1)

        // Owner: preview, then sign up through the link.
        let olga = f.browser("10.0.0.2")
        let preview = await olga.call("GET", "/api/v1/invites/\(ownerLink)")
        #expect(preview.status == 200)
        #expect(preview.json["orgName"] as? String == "Acme EU")
        #expect(preview.json["roleNames"] as? [String] == ["Owner"])
        #expect(preview.json["accountExists"] as? Bool == false)
        #expect(await olga.call("POST", "/api/v1/invites/\(ownerLink)/accept", #"{"password":"short"}"#).status == 422)
        let joined = await olga.call(
            "POST", "/api/v1/invites/\(ownerLink)/accept",
            #"{"password":"olga-secret-pass","firstName":"Olga","lastName":"Owner"}"#)
        #expect(joined.status == 200, "\(joined.body)")
        #expect(joined.json["redirect"] as? String == "/console")
        #expect(olga.cookie != nil)
        let me = await olga.call("GET", "/api/v1/me")
        #expect(((me.json["memberships"] as? [[String: Any]])?.first?["roles"] as? [String]) == ["owner"])

        // Owner invites three at once.
        let inv = await olga.call(
            "POST", "/api/v1/orgs/\(org)/invites",
            #"{"emails":"mia@acme.test, max@acme.test\nvik@acme.test","roles":["manager"],"userVariables":{"site":"berlin"},"startingPage":"portal"}"#
        )
        #expect(inv.status == 201)
        let noCSRF = await olga.call(
            "POST", "/api/v1/orgs/\(org)/invites", #"{"emails":["x@acme.test"],"roles":["viewer"]}"#, csrf: false)
        #expect(
            noCSRF.status == 403 && noCSRF.body.contains("csrf_failed"),
            "a cookie-authenticated write without the CSRF header")
        var people: [String: Browser] = [:]
        for (i, email) in ["mia@acme.test", "max@acme.test", "vik@acme.test"].enumerated() {
            let invite = try #require(try await eu.pendingInvites(email: email).first?.invite)
            let b = f.browser("10.0.1.\(i)")
            let r = await b.call(
                "POST", "/api/v1/invites/\(eu.mailedToken(for: invite))/accept",
                #"{"password":"correct-horse-battery"}"#)
            #expect(r.status == 200, "\(r.body)")
            #expect(r.json["redirect"] as? String == "/apps/portal/")
            people[email] = b
        }
        let mia = try #require(people["mia@acme.test"])
        let max = try #require(people["max@acme.test"])
        let miaID = try #require(
            ((await mia.call("GET", "/api/v1/me")).json["account"] as? [String: Any])?["id"] as? String)
        let maxID = try #require(
            ((await max.call("GET", "/api/v1/me")).json["account"] as? [String: Any])?["id"] as? String)
        let miaMember = await olga.call("GET", "/api/v1/orgs/\(org)/members/\(miaID)")
        #expect(miaMember.json["userVariables"] as? [String: String] == ["site": "berlin"])
        // Olga makes max a plain member; mia (manager) tries to make max an admin: refused.
        #expect(
            await olga.call("PATCH", "/api/v1/orgs/\(org)/members/\(maxID)", #"{"roles":["member"]}"#).status == 200)
        let escalate = await mia.call("PATCH", "/api/v1/orgs/\(org)/members/\(maxID)", #"{"roles":["admin"]}"#)
        #expect(escalate.status == 403 && escalate.body.contains("role_above_you"))
        // Olga makes mia admin so she can hold an API key; then removes her: the key dies at once.
        #expect(await olga.call("PATCH", "/api/v1/orgs/\(org)/members/\(miaID)", #"{"roles":["admin"]}"#).status == 200)
        let key = await mia.call("POST", "/api/v1/orgs/\(org)/apikeys", #"{"name":"ci"}"#)
        let secret = try #require(key.json["secret"] as? String)
        let robot = f.browser("10.0.2.1")
        robot.bearer = secret
        #expect(await robot.call("GET", "/api/v1/orgs/\(org)").status == 200)
        #expect(await olga.call("DELETE", "/api/v1/orgs/\(org)/members/\(miaID)").status == 204)
        #expect(await robot.call("GET", "/api/v1/orgs/\(org)").status == 401)
        // Resend: the old link stops working.
        _ = await olga.call("POST", "/api/v1/orgs/\(org)/invites", #"{"emails":["late@acme.test"],"roles":["viewer"]}"#)
        let lateInvite = try #require(try await eu.pendingInvites(email: "late@acme.test").first?.invite)
        let oldLink = eu.mailedToken(for: lateInvite)
        #expect(await olga.call("POST", "/api/v1/orgs/\(org)/invites/\(lateInvite.id)/resend").status == 200)
        let stale = await f.browser().call("GET", "/api/v1/invites/\(oldLink)")
        #expect(stale.status == 410 && stale.body.contains("invite_superseded"))
        // SSO-only: an SSO-only invite cannot be taken with a password, and an SSO-only member's password
        // session cannot reach the org.
        _ = await olga.call(
            "POST", "/api/v1/orgs/\(org)/invites", #"{"emails":["sso@acme.test"],"roles":["member"],"ssoOnly":true}"#)
        let ssoInvite = try #require(try await eu.pendingInvites(email: "sso@acme.test").first?.invite)
        let refused = await f.browser().call(
            "POST", "/api/v1/invites/\(eu.mailedToken(for: ssoInvite))/accept", #"{"password":"a-fine-password"}"#)
        #expect(refused.status == 403 && refused.body.contains("sso_required"))
        #expect(await olga.call("PATCH", "/api/v1/orgs/\(org)/members/\(maxID)", #"{"ssoOnly":true}"#).status == 200)
        let blocked = await max.call("GET", "/api/v1/orgs/\(org)")
        #expect(blocked.status == 403 && blocked.body.contains("sso_required"))
    }

    @Test func bootstrapLinkPageWorksWithoutJavaScript() async throws {
        let f = try GatewayFixture()
        let token = try await f.app.gateway.bootstrapRegionAdmin(email: "root@x.test", region: .apac)
        let page = await f.client.send("GET", "/bootstrap/\(token)")
        #expect(page.status == 200)
        #expect(page.bodyText.contains("<form method=\"post\" action=\"/bootstrap/\(token)\">"))
        #expect(page.bodyText.contains("<label for=\"password\">"))
        #expect(page.headers["Content-Security-Policy"]?.contains("default-src 'none'") == true)
        let form: HTTPHeaders = ["Content-Type": "application/x-www-form-urlencoded"]
        let weak = await f.client.send("POST", "/bootstrap/\(token)", headers: form, body: Array("password=short".utf8))
        #expect(weak.status == 422 && weak.bodyText.contains("at least"))
        let ok = await f.client.send(
            "POST", "/bootstrap/\(token)", headers: form, body: Array("password=a+long+enough+pass".utf8))
        // Signed in and sent to the region console (the page it showed had nowhere to go: #17).
        #expect(ok.status == 303 && ok.headers["Location"] == "/region/apac")
        #expect(ok.headers["Set-Cookie"]?.hasPrefix("gh_session=") == true)
        let again = await f.client.send(
            "POST", "/bootstrap/\(token)", headers: form, body: Array("password=another+long+pass".utf8))
        #expect(again.status == 410)
        let evil = await f.client.send("GET", "/bootstrap/%3Cscript%3E")
        #expect(!evil.bodyText.contains("<script>"))
        let login = await f.browser().call(
            "POST", "/api/v1/auth/login", #"{"email":"root@x.test","password":"a long enough pass"}"#)
        #expect(login.status == 200)
        #expect(((await f.browser().call("GET", "/api/v1/me")).status) == 401)
    }

    /// Successful sign-ins never count toward a limit: an office signing in all morning from one NAT address is
    /// not locked out (ten normal sign-ins once were).
    @Test func successfulSignInsAreNeverLimited() async throws {
        let f = try GatewayFixture()
        _ = try await f.app.gateway.accounts.create(
            email: "ann@x.test", firstName: "Ann", lastName: "", password: "ann-password-1")
        for i in 0..<60 {
            let r = await f.browser("10.1.1.1").call(
                "POST", "/api/v1/auth/login", #"{"email":"ann@x.test","password":"ann-password-1"}"#)
            #expect(r.status == 200, "sign-in \(i + 1) from one address")
        }
    }

    @Test func loginAnswersTheSameForUnknownEmailAndWrongPasswordAndRateLimits() async throws {
        let f = try GatewayFixture()
        _ = try await f.app.gateway.accounts.create(
            email: "ann@x.test", firstName: "Ann", lastName: "", password: "ann-password-1")
        let b = f.browser()
        let wrong = await b.call("POST", "/api/v1/auth/login", #"{"email":"ann@x.test","password":"nope-nope-nope"}"#)
        let unknown = await b.call(
            "POST", "/api/v1/auth/login", #"{"email":"nobody@x.test","password":"nope-nope-nope"}"#)
        #expect(wrong.status == 401 && unknown.status == 401)
        #expect(wrong.body == unknown.body)
        #expect(
            await b.call("POST", "/api/v1/auth/login", #"{"email":"ANN@x.test","password":"ann-password-1"}"#).status
                == 200)
        var last = 0
        var retry: String?
        for _ in 0..<12 {
            let r = await f.browser("10.9.9.9").call(
                "POST", "/api/v1/auth/login", #"{"email":"ann@x.test","password":"wrong-wrong-wrong"}"#)
            last = r.status
            retry = r.headers["Retry-After"]
        }
        #expect(last == 429)
        #expect(Int(retry ?? "") ?? 0 > 0)
        // The guesser waits, even with the right password; Ann elsewhere is not locked out by someone else's guesses.
        #expect(
            await f.browser("10.9.9.9").call(
                "POST", "/api/v1/auth/login", #"{"email":"ann@x.test","password":"ann-password-1"}"#
            ).status == 429)
        #expect(
            await f.browser("10.9.9.8").call(
                "POST", "/api/v1/auth/login", #"{"email":"ann@x.test","password":"ann-password-1"}"#
            ).status == 200)
        f.clock.advance(by: 901)
        #expect(
            await f.browser("10.9.9.9").call(
                "POST", "/api/v1/auth/login", #"{"email":"ann@x.test","password":"ann-password-1"}"#
            ).status == 200)
    }

    @Test func sessionsExpireRotateAndDieOnPasswordChange() async throws {
        let f = try GatewayFixture()
        _ = try await f.app.gateway.accounts.create(
            email: "bo@x.test", firstName: "Bo", lastName: "", password: "bo-password-1")
        let a = f.browser()
        let b = f.browser()
        _ = await a.call("POST", "/api/v1/auth/login", #"{"email":"bo@x.test","password":"bo-password-1"}"#)
        let first = a.cookie
        _ = await a.call("POST", "/api/v1/auth/login", #"{"email":"bo@x.test","password":"bo-password-1"}"#)
        #expect(a.cookie != first, "a login rotates the session id")
        let stale = f.browser()
        stale.cookie = first
        #expect(await stale.call("GET", "/api/v1/me").status == 401)
        _ = await b.call("POST", "/api/v1/auth/login", #"{"email":"bo@x.test","password":"bo-password-1"}"#)
        #expect(await b.call("GET", "/api/v1/me").status == 200)
        // The stored id is a hash: the cookie value is nowhere in the store.
        let cookie = try #require(b.cookie)
        let raw = try f.app.gatewayStore.readNow { try $0.query("SELECT id_hash FROM sessions") }
        #expect(!raw.contains { ($0.blob("id_hash") ?? []) == Array(cookie.utf8) })
        // Password change: every other session ends.
        #expect(
            await a.call(
                "POST", "/api/v1/auth/password", #"{"currentPassword":"bo-password-1","newPassword":"bo-password-2"}"#
            ).status == 200)
        #expect(await b.call("GET", "/api/v1/me").status == 401)
        #expect(await a.call("GET", "/api/v1/me").status == 200)
        // Idle timeout (12 h) and logout.
        f.clock.advance(by: 13 * 3600)
        #expect(await a.call("GET", "/api/v1/me").status == 401)
        _ = await a.call("POST", "/api/v1/auth/login", #"{"email":"bo@x.test","password":"bo-password-2"}"#)
        #expect(await a.call("POST", "/api/v1/auth/logout").status == 204)
        #expect(a.cookie == nil)
    }

    @Test func forgedExpiredAndForeignInviteLinks() async throws {
        let f = try GatewayFixture()
        let g = f.app.gateway
        let eu = try f.service(.eu)
        let ops = try await f.euRegionAdmin()
        let p = try await eu.provisionOrg(
            ops, region: "eu", request: ProvisionRequest(name: "Acme", ownerEmail: "amy@x.test"))
        let token = eu.mailedToken(for: p.ownerInvite)
        let b = f.browser()
        #expect(await b.call("GET", "/api/v1/invites/gh1.bogus.token").status == 404)
        var forged = Array(token)
        forged[forged.count - 3] = forged[forged.count - 3] == "A" ? "B" : "A"
        #expect(await b.call("GET", "/api/v1/invites/\(String(forged))").body.contains("invite_invalid"))
        // Someone else, signed in, cannot take Amy's invite.
        _ = try await g.accounts.create(email: "eve@x.test", firstName: "Eve", lastName: "", password: "eve-password-1")
        let eve = f.browser()
        _ = await eve.call("POST", "/api/v1/auth/login", #"{"email":"eve@x.test","password":"eve-password-1"}"#)
        let stolen = await eve.call("POST", "/api/v1/invites/\(token)/accept")
        #expect(stolen.status == 403 && stolen.body.contains("invite_email_mismatch"))
        f.clock.advance(by: 73 * 3600)
        let expired = await b.call("GET", "/api/v1/invites/\(token)")
        #expect(expired.status == 410 && expired.body.contains("invite_expired"))
    }

    @Test func apiKeysAreBoundToTheirOrg() async throws {
        let f = try GatewayFixture()
        let eu = try f.service(.eu)
        let ops = try await f.euRegionAdmin()
        var orgs: [String] = []
        let amy = f.browser()
        for name in ["One", "Two"] {
            let p = try await eu.provisionOrg(
                ops, region: "eu", request: ProvisionRequest(name: name, ownerEmail: "amy@x.test"))
            let r = await amy.call(
                "POST", "/api/v1/invites/\(eu.mailedToken(for: p.ownerInvite))/accept",
                #"{"password":"amy-password-1"}"#)
            #expect(r.status == 200, "\(r.body)")
            orgs.append(p.org.id)
        }
        let key = await amy.call("POST", "/api/v1/orgs/\(orgs[0])/apikeys", #"{"name":"k"}"#)
        let robot = f.browser()
        robot.bearer = try #require(key.json["secret"] as? String)
        #expect(await robot.call("GET", "/api/v1/orgs/\(orgs[0])").status == 200)
        #expect(await robot.call("GET", "/api/v1/orgs/\(orgs[1])").status == 404)
        #expect(
            await robot.call(
                "POST", "/api/v1/auth/password", #"{"currentPassword":"amy-password-1","newPassword":"x-password-2"}"#
            ).status == 403)
        let me = await amy.call("GET", "/api/v1/me")
        #expect((me.json["memberships"] as? [[String: Any]])?.count == 2)
    }
}
