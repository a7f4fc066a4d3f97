import Foundation
import GatehouseCore
import GatehouseTesting
import Gateway
import HTTP
import Mail
import SAML
import Synchronization
import Tenant
import TenantAPI
import TenantDomain
import Testing
import Web

/// Every party is trusted only for what it owns (SECURITY.md). One test per boundary the red-team pass of
/// issue 11 crossed; each fails on the code before its fix.
@Suite("Trust boundaries: an org's IdP for that org, an inviter for their invite, keys inside their org")
struct TrustBoundaryTests {
    /// Acme (EU), whose owner Olga points Acme's SSO at an IdP she controls (`idpKey`), and Victor: a person with a
    /// password, owner of his own EU org and an EU region admin, who is also a plain member of Acme.
    struct World {
        let f: GatewayFixture
        let acme: String
        let victorsOrg: String
        let olga: Browser
        let victor: Browser
        let idpKey: SAMLKit.KeyPair
    }

    static func world(jit: Bool = false) async throws -> World {
        let f = try GatewayFixture()
        let eu = try f.service(.eu)
        // Victor: region admin of EU (bootstrap link → password), owner of "Victor Inc".
        let boot = try await f.app.gateway.bootstrapRegionAdmin(email: "victor@corp.test", region: .eu)
        let victor = f.browser("10.1.0.1")
        #expect(
            await victor.call(
                "POST", "/api/v1/auth/bootstrap", "{\"token\":\"\(boot)\",\"password\":\"victor-password-1\"}"
            ).status == 200)
        let v = await victor.call(
            "POST", "/api/v1/regions/eu/orgs", #"{"name":"Victor Inc","ownerEmail":"victor@corp.test"}"#)
        let victorsOrg = try #require((v.json["org"] as? [String: Any])?["id"] as? String)
        let vInvite = try #require(try await eu.pendingInvites(email: "victor@corp.test").first?.invite)
        #expect(await victor.call("POST", "/api/v1/invites/\(eu.mailedToken(for: vInvite))/accept").status == 200)
        // Acme, owned by Olga, who invites Victor as a member; he joins with his password session.
        let a = await victor.call("POST", "/api/v1/regions/eu/orgs", #"{"name":"Acme","ownerEmail":"olga@acme.test"}"#)
        let acme = try #require((a.json["org"] as? [String: Any])?["id"] as? String)
        let olga = f.browser("10.1.0.2")
        let oInvite = try #require(try await eu.pendingInvites(email: "olga@acme.test").first?.invite)
        #expect(
            await olga.call(
                "POST", "/api/v1/invites/\(eu.mailedToken(for: oInvite))/accept",
                #"{"password":"olga-secret-pass","firstName":"Olga"}"#
            ).status == 200)
        #expect(
            await olga.call(
                "POST", "/api/v1/orgs/\(acme)/invites", #"{"emails":["victor@corp.test"],"roles":["member"]}"#
            ).status == 201)
        let vAcme = try #require(
            try await eu.pendingInvites(email: "victor@corp.test").first { $0.invite.orgID == acme }?.invite)
        #expect(await victor.call("POST", "/api/v1/invites/\(eu.mailedToken(for: vAcme))/accept").status == 200)
        let k = try SAMLKit.makeKeys("rsa")
        let body = """
            {"idpEntityID":"\(SAMLKit.idp)","ssoURL":"https://idp.test/sso","certificates":["\(k.certificate.base64)"],
             "jit":{"enabled":\(jit),"defaultRole":"viewer"}}
            """
        #expect(await olga.call("PUT", "/api/v1/orgs/\(acme)/sso", body).status == 200)
        return World(f: f, acme: acme, victorsOrg: victorsOrg, olga: olga, victor: victor, idpKey: k)
    }

    /// Olga's IdP asserts `email`; returns the ACS answer and the browser that posted it.
    static func assert(
        _ w: World, _ email: String, browser: FormBrowser? = nil
    ) async throws -> (FormBrowser, (status: Int, body: String, location: String?, headers: HTTPHeaders)) {
        let b = browser ?? FormBrowser(w.f.client)
        let id = try await SSOTests.startLogin(b, org: w.acme)
        let sp = w.f.app.gateway.serviceProvider(org: w.acme)
        let signed = try SAMLKit.sign(
            SAMLKit.response(
                nameID: email, inResponseTo: id, audience: sp.entityID, acs: sp.acsURL, now: w.f.clock.now()),
            with: w.idpKey)
        return (b, await SSOTests.post(b, org: w.acme, signed))
    }

    static func cookie(_ b: FormBrowser) -> Browser? {
        guard let c = b.cookies[Sessions.cookieName] else { return nil }
        let out = Browser(client: b.client, address: "10.1.9.9")
        out.cookie = c
        return out
    }

    // MARK: Critical

    @Test func anOrgsIdPCannotSignInAnAccountThatIsNotLinkedToIt() async throws {
        let w = try await Self.world()
        let (b, r) = try await Self.assert(w, "victor@corp.test")
        #expect(r.status == 303 && r.location == "/sso/\(w.acme)/link", "\(r.status) \(r.body)")
        #expect(b.cookies[Sessions.cookieName] == nil, "no session for Victor from Olga's IdP")
        let page = await b.go("GET", "/sso/\(w.acme)/link")
        #expect(page.status == 200 && page.body.contains("prove the account is yours"))
        // Olga cannot finish it without Victor's password.
        let wrong = await b.go("POST", "/sso/\(w.acme)/link", form: [("csrf", b.csrf), ("password", "guess-guess-1")])
        #expect(wrong.status == 401 && b.cookies[Sessions.cookieName] == nil)
    }

    @Test func linkingProvesTheAccountOnceThenTheIdPSignsIn() async throws {
        let w = try await Self.world()
        let (b, _) = try await Self.assert(w, "victor@corp.test")
        _ = await b.go("GET", "/sso/\(w.acme)/link")
        let linked = await b.go(
            "POST", "/sso/\(w.acme)/link", form: [("csrf", b.csrf), ("password", "victor-password-1")])
        #expect(linked.status == 303, "\(linked.body)")
        let token = try #require(b.cookies[Sessions.cookieName])
        await #expect(try w.f.app.gateway.sessions.validateWithAccount(token)?.0.method == .saml(org: w.acme))
        // The next sign-in through Acme's IdP needs no proof.
        let (b2, again) = try await Self.assert(w, "victor@corp.test")
        #expect(again.status == 303 && b2.cookies[Sessions.cookieName] != nil)
        // A browser already signed in with Victor's password links on the way, without asking.
        let w2 = try await Self.world()
        let fb = FormBrowser(w2.f.client)
        _ = await fb.go("GET", "/login")
        _ = await fb.go(
            "POST", "/login",
            form: [("csrf", fb.csrf), ("email", "victor@corp.test"), ("password", "victor-password-1")])
        let (_, viaSession) = try await Self.assert(w2, "victor@corp.test", browser: fb)
        #expect(viaSession.status == 303 && viaSession.location != "/sso/\(w2.acme)/link")
    }

    @Test func anAccountWithoutAPasswordLinksByACodeMailedToIt() async throws {
        let w = try await Self.world()
        _ = try await w.f.app.gateway.accounts.create(
            email: "pat@ext.test", firstName: "Pat", lastName: "", password: nil)
        let (b, r) = try await Self.assert(w, "pat@ext.test")
        #expect(r.location == "/sso/\(w.acme)/link" && b.cookies[Sessions.cookieName] == nil)
        let page = await b.go("GET", "/sso/\(w.acme)/link")
        #expect(page.body.contains("Email me a code") && !page.body.contains("name=\"password\""))
        let sent = await b.go("POST", "/sso/\(w.acme)/link/code", form: [("csrf", b.csrf)])
        #expect(sent.status == 200 && sent.body.contains("We sent a code to pat@ext.test"))
        let transport = CapturingTransport()
        _ = OutboxSender(
            service: try w.f.service(.eu), transport: transport, settings: OutboxSettings(),
            logger: Logger(label: "test")
        ).deliverDue()
        let mail = try #require(transport.sent.withLock { $0 }.first { $0.to == "pat@ext.test" })
        let code = try #require(
            mail.text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.first {
                $0.count == 6 && Int($0) != nil
            })
        let wrong = await b.go(
            "POST", "/sso/\(w.acme)/link", form: [("csrf", b.csrf), ("code", code == "000000" ? "111111" : "000000")])
        #expect(wrong.status == 401 && b.cookies[Sessions.cookieName] == nil)
        let ok = await b.go("POST", "/sso/\(w.acme)/link", form: [("csrf", b.csrf), ("code", code)])
        #expect(
            ok.status == 403 && ok.body.contains("not a member"),
            "linked, then refused by the region: Pat is not a member of Acme")
        let patID = try await #require(try w.f.app.gateway.accounts.find(email: "pat@ext.test")?.id)
        await #expect(try w.f.app.gateway.trust.isLinked(accountID: patID, org: w.acme))
    }

    @Test func anSSOSessionOpensItsOwnOrgOnlyAndNothingAccountWide() async throws {
        let w = try await Self.world()
        // Victor links for real, then uses Acme's SSO session.
        let (b, _) = try await Self.assert(w, "victor@corp.test")
        _ = await b.go("GET", "/sso/\(w.acme)/link")
        _ = await b.go("POST", "/sso/\(w.acme)/link", form: [("csrf", b.csrf), ("password", "victor-password-1")])
        let s = try #require(Self.cookie(b))
        let me = await s.call("GET", "/api/v1/me")
        #expect(me.status == 200)
        #expect(
            (me.json["memberships"] as? [[String: Any]])?.map { $0["orgID"] as? String } == [w.acme],
            "only Acme is visible")
        #expect(me.json["regionAdminOf"] == nil || me.json["regionAdminOf"] is NSNull, "no region-admin rights")
        #expect(await s.call("GET", "/api/v1/orgs/\(w.acme)").status == 200)
        let other = await s.call("GET", "/api/v1/orgs/\(w.victorsOrg)")
        #expect(other.status == 401 && other.body.contains("org_sign_in_required"), "\(other.body)")
        #expect(await s.call("GET", "/api/v1/orgs/\(w.victorsOrg)/members").status == 401)
        #expect(await s.call("POST", "/api/v1/orgs/\(w.victorsOrg)/apikeys", #"{"name":"x"}"#).status == 401)
        #expect(await s.call("GET", "/api/v1/regions/eu/orgs").status == 403)
        #expect(await s.call("POST", "/api/v1/auth/logout-everywhere").status == 403)
        #expect(
            await s.call("POST", "/api/v1/auth/password", #"{"currentPassword":"x","newPassword":"new-password-123"}"#)
                .status == 403)
        // Pages: the console of Victor's own org asks to sign in; the region console is closed.
        let fb = FormBrowser(w.f.client)
        fb.cookies[Sessions.cookieName] = s.cookie
        #expect(await fb.go("GET", "/console/\(w.victorsOrg)/members").status == 401)
        #expect(await fb.go("GET", "/region/eu").status >= 400)
        // The same person with a password session still has everything.
        #expect(await w.victor.call("GET", "/api/v1/orgs/\(w.victorsOrg)").status == 200)
    }

    @Test func jitCreatesAccountsOnlyInTheOrgsProvenDomains() async throws {
        let w = try await Self.world(jit: true)
        let (b, r) = try await Self.assert(w, "newbie@acme.test")
        #expect(r.status == 403 && b.cookies[Sessions.cookieName] == nil, "\(r.body)")
        await #expect(try w.f.app.gateway.accounts.find(email: "newbie@acme.test") == nil)
        try await w.f.verifyDomain("acme.test", org: w.acme, admin: w.olga)
        let (b2, r2) = try await Self.assert(w, "newbie@acme.test")
        #expect(r2.status == 303 && b2.cookies[Sessions.cookieName] != nil)
        // A proven domain also lets the IdP sign in an existing account of that domain without a link.
        _ = try await w.f.app.gateway.accounts.create(
            email: "lee@acme.test", firstName: "Lee", lastName: "", password: "lee-password-1")
        let (b3, r3) = try await Self.assert(w, "lee@acme.test")
        #expect(r3.status == 303 && b3.cookies[Sessions.cookieName] != nil)
    }

    @Test func domainClaimsAreProvenOwnedOnceAndNeverPublic() async throws {
        let w = try await Self.world()
        let put = await w.olga.call("POST", "/api/v1/orgs/\(w.acme)/sso/domains", #"{"domain":"gmail.com"}"#)
        #expect(put.status == 422 && put.body.contains("public_domain"))
        let claim = await w.olga.call("POST", "/api/v1/orgs/\(w.acme)/sso/domains", #"{"domain":"corp.test"}"#)
        #expect(claim.status == 201 && claim.json["verified"] as? Bool == false)
        // Wrong record: refused, still unverified, routes nothing.
        w.f.dns.setTXT("_gatehouse-challenge.corp.test", ["gatehouse-domain-verification=not-it"])
        #expect(await w.olga.call("POST", "/api/v1/orgs/\(w.acme)/sso/domains/corp.test/verify").status == 422)
        #expect(await FormBrowser(w.f.client).go("GET", "/sso/start?who=someone%40corp.test").status == 404)
        try await w.f.verifyDomain("corp.test", org: w.acme, admin: w.olga)
        #expect(
            await FormBrowser(w.f.client).go("GET", "/sso/start?who=someone%40corp.test").location
                == "/sso/\(w.acme)/login?next=%2F")
        // Another org cannot claim it now (one owner at a time).
        let other = await w.victor.call(
            "PUT", "/api/v1/orgs/\(w.victorsOrg)/sso",
            """
            {"idpEntityID":"https://other.test","ssoURL":"https://other.test/sso","certificates"\
            :["\(w.idpKey.certificate.base64)"]}
            """)
        #expect(other.status == 200, "\(other.body)")
        #expect(
            await w.victor.call("POST", "/api/v1/orgs/\(w.victorsOrg)/sso/domains", #"{"domain":"corp.test"}"#).status
                == 409)
    }

    // MARK: High

    @Test func theJITDefaultRoleStaysWithinTheSaversCeilingAndIsNeverOwnerLevel() async throws {
        let w = try await Self.world()
        // An SSO manager who holds nothing else.
        #expect(
            await w.olga.call(
                "POST", "/api/v1/orgs/\(w.acme)/roles",
                #"{"name":"SSO keeper","permissions":["org.view","members.view","sso.manage"]}"#
            ).status == 201)
        #expect(
            await w.olga.call(
                "POST", "/api/v1/orgs/\(w.acme)/roles",
                #"{"name":"Almost owner","permissions":["org.view","members.view","org.delete"]}"#
            ).status == 201)
        let victorID = try await #require(try w.f.app.gateway.accounts.find(email: "victor@corp.test")?.id)
        #expect(
            await w.olga.call(
                "PATCH", "/api/v1/orgs/\(w.acme)/members/\(victorID)", #"{"roles":["custom-sso-keeper"]}"#
            ).status == 200)
        let keeper = await w.victor.call(
            "PUT", "/api/v1/orgs/\(w.acme)/sso", #"{"jit":{"enabled":true,"defaultRole":"admin"}}"#)
        #expect(keeper.status == 403 && keeper.body.contains("role_above_you"), "\(keeper.body)")
        #expect(
            await w.victor.call(
                "PUT", "/api/v1/orgs/\(w.acme)/sso", #"{"jit":{"enabled":true,"defaultRole":"custom-sso-keeper"}}"#
            ).status == 200)
        // Even the owner cannot make an owner-level role the JIT default.
        let ownerLevel = await w.olga.call(
            "PUT", "/api/v1/orgs/\(w.acme)/sso", #"{"jit":{"enabled":true,"defaultRole":"custom-almost-owner"}}"#)
        #expect(ownerLevel.status == 403, "\(ownerLevel.body)")
        #expect(
            await w.olga.call("PUT", "/api/v1/orgs/\(w.acme)/sso", #"{"jit":{"enabled":true,"defaultRole":"manager"}}"#)
                .status == 200)
    }

    @Test func aCopiedLinkCannotCreateTheInviteesAccount() async throws {
        let w = try await Self.world()
        let eu = try w.f.service(.eu)
        #expect(
            await w.olga.call(
                "POST", "/api/v1/orgs/\(w.acme)/invites", #"{"emails":["newcomer@ext.test"],"roles":["member"]}"#
            ).status == 201)
        let inv = try #require(try await eu.pendingInvites(email: "newcomer@ext.test").first?.invite)
        let copied = await w.olga.call("GET", "/api/v1/orgs/\(w.acme)/invites/\(inv.id)/link")
        let link = try #require(copied.json["token"] as? String)
        #expect(link == eu.link(for: inv).token && link != eu.mailedToken(for: inv), "copy link carries no mail proof")
        // The inviter tries to sign up as the invitee through the copied link.
        let thief = w.f.browser("10.6.6.6")
        let r = await thief.call("POST", "/api/v1/invites/\(link)/accept", #"{"password":"thief-password-1"}"#)
        #expect(r.status == 403 && r.body.contains("email_unproven"), "\(r.body)")
        await #expect(try w.f.app.gateway.accounts.find(email: "newcomer@ext.test") == nil)
        let page = await FormBrowser(w.f.client).go("GET", "/invite/\(link)")
        #expect(!page.body.contains("action=\"/invite/\(link)/signup\"") && page.body.contains("Email me a code"))
        // A wrong code is refused; the code mailed to the address works.
        #expect(await thief.call("POST", "/api/v1/invites/\(link)/code").status == 202)
        #expect(
            await thief.call(
                "POST", "/api/v1/invites/\(link)/accept", #"{"password":"thief-password-1","code":"000000"}"#
            ).status == 403)
        let code = eu.tokens.code(inviteID: inv.id, version: inv.version, slot: InviteTokens.slot(w.f.clock.now()))
        let ok = await w.f.browser("10.6.6.7").call(
            "POST", "/api/v1/invites/\(link)/accept", "{\"password\":\"real-password-1\",\"code\":\"\(code)\"}")
        #expect(ok.status == 200, "\(ok.body)")
        // The region admin's owner link after provisioning proves nothing either.
        let p = await w.victor.call(
            "POST", "/api/v1/regions/eu/orgs", #"{"name":"Third","ownerEmail":"third@ext.test"}"#)
        let ownerURL = try #require(p.json["ownerInviteURL"] as? String)
        let ownerToken = try #require(ownerURL.components(separatedBy: "/invite/").last)
        #expect(
            await w.f.browser("10.6.6.8").call(
                "POST", "/api/v1/invites/\(ownerToken)/accept", #"{"password":"owner-password-1"}"#
            ).status == 403)
    }

    // MARK: Medium

    static let redirects: [(String, String)] = [
        ("/console", "/console"), ("/invite/a.b.c?x=1#y", "/invite/a.b.c?x=1#y"),
        ("/\t/evil.host/path", "/"), ("/\n/evil.host", "/"), ("/\r/evil.host", "/"), ("/ /evil.host", "/"),
        ("//evil.host", "/"),
        ("/\\evil.host", "/"), ("/a\\b", "/"), ("https://evil.host/", "/"), ("evil.host", "/"),
        ("/\u{0B}/evil.host", "/"),
        ("/\u{7F}", "/"), ("/\u{2028}/evil.host", "/"), ("", "/"),
    ]

    @Test(arguments: 0..<redirects.count)
    func nextIsALocalPathOnly(_ i: Int) async throws {
        let (next, expected) = Self.redirects[i]
        let f = try GatewayFixture()
        _ = try await f.app.gateway.accounts.create(
            email: "ann@x.test", firstName: "Ann", lastName: "", password: "ann-password-1")
        let b = FormBrowser(f.client)
        _ = await b.go("GET", "/login")
        let r = await b.go(
            "POST", "/login",
            form: [("csrf", b.csrf), ("email", "ann@x.test"), ("password", "ann-password-1"), ("next", next)])
        #expect(r.location == expected, "next=\(next.debugDescription)")
    }

    // MARK: Low

    @Test func apiKeysStayInsideTheirOrg() async throws {
        let w = try await Self.world()
        let key = await w.victor.call("POST", "/api/v1/orgs/\(w.victorsOrg)/apikeys", #"{"name":"robot"}"#)
        #expect(key.headers["Cache-Control"] == "no-store", "a new key's secret is never cached")
        let robot = w.f.browser("10.2.0.1")
        robot.bearer = try #require(key.json["secret"] as? String)
        let me = await robot.call("GET", "/api/v1/me")
        #expect((me.json["memberships"] as? [[String: Any]])?.map { $0["orgID"] as? String } == [w.victorsOrg])
        #expect(await robot.call("POST", "/api/v1/auth/logout-everywhere").status == 403)
        #expect(await w.victor.call("GET", "/api/v1/me").status == 200, "Victor is still signed in")
    }

    @Test func anAdminCannotRevokeAnOwnersKeys() async throws {
        let w = try await Self.world()
        let victorID = try await #require(try w.f.app.gateway.accounts.find(email: "victor@corp.test")?.id)
        #expect(
            await w.olga.call("PATCH", "/api/v1/orgs/\(w.acme)/members/\(victorID)", #"{"roles":["admin"]}"#).status
                == 200)
        let ownerKey = await w.olga.call("POST", "/api/v1/orgs/\(w.acme)/apikeys", #"{"name":"owner key"}"#)
        let id = try #require(ownerKey.json["id"] as? String)
        let r = await w.victor.call("DELETE", "/api/v1/orgs/\(w.acme)/apikeys/\(id)")
        #expect(r.status == 403 && r.body.contains("member_outranks_you"), "\(r.body)")
        #expect(
            await w.olga.call("DELETE", "/api/v1/orgs/\(w.acme)/apikeys/\(id)").status == 204,
            "the owner revokes her own")
    }

    @Test func aSupersededLinkCannotDecline() async throws {
        let w = try await Self.world()
        let eu = try w.f.service(.eu)
        _ = try await w.f.app.gateway.accounts.create(
            email: "dee@ext.test", firstName: "Dee", lastName: "", password: "dee-password-1")
        #expect(
            await w.olga.call(
                "POST", "/api/v1/orgs/\(w.acme)/invites", #"{"emails":["dee@ext.test"],"roles":["member"]}"#
            ).status == 201)
        let inv = try #require(try await eu.pendingInvites(email: "dee@ext.test").first?.invite)
        let old = eu.link(for: inv).token
        #expect(await w.olga.call("POST", "/api/v1/orgs/\(w.acme)/invites/\(inv.id)/resend").status == 200)
        let dee = w.f.browser("10.3.0.1")
        _ = await dee.call("POST", "/api/v1/auth/login", #"{"email":"dee@ext.test","password":"dee-password-1"}"#)
        let r = await dee.call("POST", "/api/v1/invites/\(old)/decline")
        #expect(r.status == 410 || r.status == 409, "\(r.status) \(r.body)")
        #expect(try await eu.pendingInvites(email: "dee@ext.test").count == 1, "still pending")
    }

    @Test func onlyTheProvenInviteeLearnsWhetherTheAddressHasAnAccount() async throws {
        let w = try await Self.world()
        let eu = try w.f.service(.eu)
        #expect(
            await w.olga.call(
                "POST", "/api/v1/orgs/\(w.acme)/invites", #"{"emails":["victor2@corp.test"],"roles":["member"]}"#
            ).status == 201)
        let inv = try #require(try await eu.pendingInvites(email: "victor2@corp.test").first?.invite)
        let copied = await w.olga.call("GET", "/api/v1/invites/\(eu.link(for: inv).token)")
        #expect(copied.status == 200 && (copied.json["accountExists"] == nil || copied.json["accountExists"] is NSNull))
        let mailed = await w.f.browser().call("GET", "/api/v1/invites/\(eu.mailedToken(for: inv))")
        #expect(mailed.json["accountExists"] as? Bool == false)
    }

    @Test func namesCarryNoLinesAndMailShowsTheInvitersEmail() async throws {
        let w = try await Self.world()
        let olgaID = try await #require(try w.f.app.gateway.accounts.find(email: "olga@acme.test")?.id)
        await #expect(throws: GatehouseError.self) {
            try await w.f.app.gateway.accounts.setNames(
                accountID: olgaID, firstName: "Olga\r\nVisit https://evil.test", lastName: "")
        }
        #expect(
            await w.olga.call(
                "POST", "/api/v1/orgs/\(w.acme)/invites",
                "{\"emails\":[\"x@ext.test\"],\"roles\":[\"member\"],\"firstName\":\"a\\nb\"}"
            ).status == 422)
        #expect(
            await w.olga.call(
                "POST", "/api/v1/orgs/\(w.acme)/invites", #"{"emails":["x@ext.test"],"roles":["member"]}"#
            ).status == 201)
        let eu = try w.f.service(.eu)
        let transport = CapturingTransport()
        _ = OutboxSender(service: eu, transport: transport, settings: OutboxSettings(), logger: Logger(label: "test"))
            .deliverDue()
        let mail = try #require(transport.sent.withLock { $0 }.first { $0.to == "x@ext.test" })
        #expect(mail.text.contains("Olga (olga@acme.test) invited you"), "\(mail.text)")
        let mailed = try #require(mail.link?.components(separatedBy: "/invite/").last)
        #expect(mailed.split(separator: ".").count == 4, "the mail carries the proven link")
    }

    @Test func deletingAnOrgForgetsItsSSO() async throws {
        let w = try await Self.world()
        try await w.f.verifyDomain("acme.test", org: w.acme, admin: w.olga)
        #expect(
            await w.victor.call("DELETE", "/api/v1/regions/eu/orgs/\(w.acme)", #"{"confirmName":"Acme"}"#).status == 204
        )
        #expect(await FormBrowser(w.f.client).go("GET", "/sso/\(w.acme)/login").status == 404)
        await #expect(try w.f.app.gateway.trust.verifiedOrg(forDomain: "acme.test") == nil)
        // The same through the region console's typed confirmation.
        #expect(
            await w.victor.call(
                "PUT", "/api/v1/orgs/\(w.victorsOrg)/sso",
                """
                {"idpEntityID":"https://v.test","ssoURL":"https://v.test/sso","certificates"\
                :["\(w.idpKey.certificate.base64)"]}
                """
            ).status == 200)
        let page = FormBrowser(w.f.client)
        page.cookies[Sessions.cookieName] = w.victor.cookie
        _ = await page.go("GET", "/region/eu")
        let deleted = await page.go(
            "POST", "/region/eu/delete",
            form: [("csrf", page.csrf), ("org", w.victorsOrg), ("confirmName", "Victor Inc")])
        #expect(deleted.status == 303, "\(deleted.body)")
        #expect(await FormBrowser(w.f.client).go("GET", "/sso/\(w.victorsOrg)/login").status == 404)
    }

    @Test func aCustomRoleCannotTakeABuiltInName() async throws {
        let w = try await Self.world()
        #expect(
            await w.olga.call(
                "POST", "/api/v1/orgs/\(w.acme)/roles", #"{"name":"Operator","permissions":["org.view"]}"#
            ).status == 201)
        let r = await w.olga.call(
            "PATCH", "/api/v1/orgs/\(w.acme)/roles/custom-operator", #"{"name":"Owner","permissions":["org.view"]}"#)
        #expect(r.status == 409, "\(r.body)")
        #expect(
            await w.olga.call(
                "PATCH", "/api/v1/orgs/\(w.acme)/roles/custom-operator",
                #"{"name":"Operators","permissions":["org.view"]}"#
            ).status == 200)
    }

    @Test func anonymousSSOStartsAreLimited() async throws {
        let w = try await Self.world()
        var statuses: [Int] = []
        for _ in 0..<40 { statuses.append(await FormBrowser(w.f.client).go("GET", "/sso/\(w.acme)/login").status) }
        #expect(statuses.prefix(30).allSatisfy { $0 == 302 } && statuses.last == 429)
        let rows = try w.f.app.gateway.db.readNow { try $0.first("SELECT count(*) FROM saml_requests")?.int(0) ?? 0 }
        #expect(rows <= 31)
    }

    // MARK: Also seen

    @Test func appScopedKeysActOnlyWithinTheirApp() async throws {
        let w = try await Self.world()
        let app = await w.olga.call("POST", "/api/v1/orgs/\(w.acme)/apps", #"{"name":"Portal"}"#)
        let appID = try #require(app.json["id"] as? String)
        let olgaID = try await #require(try w.f.app.gateway.accounts.find(email: "olga@acme.test")?.id)
        // Olga cannot grant herself (rule 3); Victor, made admin, grants her the app.
        #expect(
            await w.olga.call(
                "POST", "/api/v1/orgs/\(w.acme)/apps/\(appID)/grants", "{\"member\":\"\(olgaID)\",\"role\":\"admin\"}"
            ).status == 403)
        let victorID = try await #require(try w.f.app.gateway.accounts.find(email: "victor@corp.test")?.id)
        #expect(
            await w.olga.call("PATCH", "/api/v1/orgs/\(w.acme)/members/\(victorID)", #"{"roles":["admin"]}"#).status
                == 200)
        let grant = await w.victor.call(
            "POST", "/api/v1/orgs/\(w.acme)/apps/\(appID)/grants", "{\"member\":\"\(olgaID)\",\"role\":\"admin\"}")
        #expect(grant.status == 403, "an admin may not touch the owner's access (rule 2)")
        #expect(
            await w.olga.call(
                "POST", "/api/v1/orgs/\(w.acme)/apps/\(appID)/grants",
                "{\"member\":\"\(victorID)\",\"role\":\"viewer\"}"
            ).status < 300)
        let key = await w.victor.call(
            "POST", "/api/v1/orgs/\(w.acme)/apikeys", "{\"name\":\"app key\",\"app\":\"\(appID)\"}")
        let robot = w.f.browser("10.4.0.1")
        robot.bearer = try #require(key.json["secret"] as? String)
        #expect(await robot.call("GET", "/api/v1/orgs/\(w.acme)").status == 200)
        #expect(
            await robot.call("POST", "/api/v1/orgs/\(w.acme)/invites", #"{"emails":["z@ext.test"],"roles":["viewer"]}"#)
                .status == 403)
        #expect(await robot.call("POST", "/api/v1/orgs/\(w.acme)/apikeys", #"{"name":"more"}"#).status == 403)
    }

    @Test func managersCannotGrantThemselvesApps() async throws {
        let w = try await Self.world()
        let app = await w.olga.call("POST", "/api/v1/orgs/\(w.acme)/apps", #"{"name":"Studio"}"#)
        let appID = try #require(app.json["id"] as? String)
        let victorID = try await #require(try w.f.app.gateway.accounts.find(email: "victor@corp.test")?.id)
        #expect(
            await w.olga.call("PATCH", "/api/v1/orgs/\(w.acme)/members/\(victorID)", #"{"roles":["manager"]}"#).status
                == 200)
        let r = await w.victor.call(
            "POST", "/api/v1/orgs/\(w.acme)/apps/\(appID)/grants", "{\"member\":\"\(victorID)\",\"role\":\"admin\"}")
        #expect(r.status == 403 && r.body.contains("cannot_change_yourself"), "\(r.body)")
    }

    @Test func secretsAreNotCachedAndOnlyJSONIsJSON() async throws {
        let w = try await Self.world()
        let me = await w.victor.call("GET", "/api/v1/me")
        #expect(me.headers["Cache-Control"] == "no-store")
        let login = await w.f.browser("10.5.0.1").call(
            "POST", "/api/v1/auth/login", #"{"email":"olga@acme.test","password":"olga-secret-pass"}"#)
        #expect(login.status == 200 && login.headers["Cache-Control"] == "no-store")
        var h: HTTPHeaders = ["Host": "test", "Content-Type": "application/jsonp"]
        h.set("Cookie", "\(Sessions.cookieName)=\(w.victor.cookie ?? "")")
        h.set("X-CSRF-Token", w.victor.csrf ?? "")
        let jsonp = await w.f.client.send(
            "PATCH", "/api/v1/orgs/\(w.victorsOrg)", headers: h, body: Array(#"{"name":"Renamed"}"#.utf8))
        #expect(jsonp.status == 415)
    }

    @Test func renamingAnOrgWorksThroughTheGateway() async throws {
        let w = try await Self.world()
        let r = await w.victor.call("PATCH", "/api/v1/orgs/\(w.victorsOrg)", #"{"name":"Victor Incorporated"}"#)
        #expect(r.status == 200 && r.json["name"] as? String == "Victor Incorporated", "\(r.status) \(r.body)")
    }
}

/// Keeps every message instead of sending it.
final class CapturingTransport: MailTransport {
    let sent = Mutex<[MailMessage]>([])
    func deliver(_ message: MailMessage, rendered: String) throws { sent.withLock { $0.append(message) } }
}
