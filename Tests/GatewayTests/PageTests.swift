import Foundation
import GatehouseCore
import GatehouseTesting
import Gateway
import HTTP
import Tenant
import TenantAPI
import TenantDomain
import Testing
import Web

/// A form-posting browser without JavaScript: keeps every cookie, reads hidden `csrf` fields from pages.
final class FormBrowser: @unchecked Sendable {
    let client: TestClient
    var cookies: [String: String] = [:]
    var lastCSRF: String?

    init(_ client: TestClient) { self.client = client }

    @discardableResult
    func go(
        _ method: String, _ path: String, form: [(String, String)]? = nil
    ) async -> (status: Int, body: String, location: String?, headers: HTTPHeaders) {
        var req = Request(method: method, target: path, headers: ["Host": "test"], id: "p", remoteAddress: "10.7.0.1")
        if !cookies.isEmpty {
            req.headers.set("Cookie", cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))
        }
        if let form {
            req.headers.set("Content-Type", "application/x-www-form-urlencoded")
            req.body = Array(
                form.map { "\(FormDecoding.percentEncode($0.0))=\(FormDecoding.percentEncode($0.1))" }.joined(
                    separator: "&"
                ).utf8)
        }
        let r = await client.responder.respond(to: req)
        for v in r.headers.values("Set-Cookie") {
            let pair = v.prefix { $0 != ";" }
            guard let eq = pair.firstIndex(of: "=") else { continue }
            let name = String(pair[..<eq])
            let value = String(pair[pair.index(after: eq)...])
            if value.isEmpty || v.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
        let body = r.bodyText
        PageTests.expectNoEscapedMarkup(body, path)
        if let range = body.range(of: "name=\"csrf\" value=\"") {
            lastCSRF = String(body[range.upperBound...].prefix { $0 != "\"" })
        }
        return (r.status, body, r.headers["Location"], r.headers)
    }

    var csrf: String { lastCSRF ?? "" }
}

@Suite("Pages: invite link, sign-up, confirmation, sign-in, org switcher")
struct PageTests {
    /// Markup of our own that reached a page as escaped text: a value built as `String` and interpolated into
    /// `HTML` (escaped, as it should be) when it was meant to be markup. Checked on every page the tests load.
    static let ownMarkupEscaped = [
        "&lt;span", "&lt;a ", "&lt;input", "&lt;form", "&lt;option", "&lt;button", "&lt;p ", "&lt;/p&gt;",
        "&lt;td", "&lt;li", "&lt;strong", "&lt;code", "&lt;br", "&lt;div", "&lt;label", "=&quot;",
    ]

    static func expectNoEscapedMarkup(_ body: String, _ path: String) {
        for needle in ownMarkupEscaped { #expect(!body.contains(needle), "escaped markup \(needle) on \(path)") }
    }

    /// An EU org with an owner (API) and an invite for `email`; returns the org id, owner and invite token.
    static func orgWithInvite(
        _ f: GatewayFixture, email: String, roles: String = #"["manager"]"#, ssoOnly: Bool = false,
        page: String = "portal"
    ) async throws -> (String, Browser, String) {
        let bootstrap = try await f.app.gateway.bootstrapRegionAdmin(email: "ops@x.test", region: .eu)
        let ops = f.browser("10.8.0.1")
        #expect(
            await ops.call(
                "POST", "/api/v1/auth/bootstrap", "{\"token\":\"\(bootstrap)\",\"password\":\"operator-pass-1\"}"
            ).status == 200)
        let p = await ops.call(
            "POST", "/api/v1/regions/eu/orgs", #"{"name":"Acme <EU>","ownerEmail":"olga@acme.test"}"#)
        let org = try #require((p.json["org"] as? [String: Any])?["id"] as? String)
        let eu = try f.service(.eu)
        let ownerToken = eu.mailedToken(
            for: try #require(try await eu.pendingInvites(email: "olga@acme.test").first?.invite))
        let olga = f.browser("10.8.0.2")
        #expect(
            await olga.call(
                "POST", "/api/v1/invites/\(ownerToken)/accept",
                #"{"password":"olga-secret-pass","firstName":"Olga","lastName":"Owner"}"#
            ).status == 200)
        let inv = await olga.call(
            "POST", "/api/v1/orgs/\(org)/invites",
            "{\"emails\":[\"\(email)\"],\"roles\":\(roles),\"ssoOnly\":\(ssoOnly),\"firstName\":\"Mia\",\"startingPage\":\"\(page)\"}"
        )
        #expect(inv.status == 201, "\(inv.body)")
        let token = eu.mailedToken(for: try #require(try await eu.pendingInvites(email: email).first?.invite))
        return (org, olga, token)
    }

    @Test func signUpThroughTheLinkThenConfirm() async throws {
        let f = try GatewayFixture()
        let (org, _, token) = try await Self.orgWithInvite(f, email: "mia@acme.test")
        let b = FormBrowser(f.client)
        let page = await b.go("GET", "/invite/\(token)")
        #expect(page.status == 200)
        #expect(page.body.contains("Join Acme &lt;EU&gt; as Manager?"), "org names are escaped")
        #expect(page.body.contains("Olga Owner"))
        #expect(page.body.contains("value=\"mia@acme.test\" readonly"), "the email is fixed to the invited one")
        #expect(page.body.contains("value=\"Mia\""), "names prefilled from the invite")
        #expect(page.headers["Content-Security-Policy"]?.contains("default-src 'none'") == true)
        let scripts = page.body.components(separatedBy: "<script").dropFirst()
        #expect(
            scripts.allSatisfy { $0.hasPrefix(" src=\"/assets/gatehouse.js\" defer></script>") }
                && !page.body.contains("style=\"")
                && page.body.range(of: #"\son[a-z]+="#, options: .regularExpression) == nil,
            "no inline script, event handler or style: only the same-origin script file")
        // Without the form's CSRF token: refused, nothing created.
        let forged = await FormBrowser(f.client).go(
            "POST", "/invite/\(token)/signup", form: [("password", "mia-password-1")])
        #expect(forged.status == 403)
        await #expect(try f.app.gateway.accounts.find(email: "mia@acme.test") == nil)
        // Too-short password: the form again, with the error next to the field.
        let weak = await b.go("POST", "/invite/\(token)/signup", form: [("csrf", b.csrf), ("password", "short")])
        #expect(weak.status == 422 && weak.body.contains("role=\"alert\""))
        let signup = await b.go(
            "POST", "/invite/\(token)/signup",
            form: [("csrf", b.csrf), ("firstName", "Mia"), ("lastName", "M"), ("password", "mia-password-1")])
        #expect(signup.status == 303 && signup.location == "/invite/\(token)")
        #expect(b.cookies[Sessions.cookieName] != nil)
        // Signed up, not yet joined: the last prompt.
        let confirm = await b.go("GET", "/invite/\(token)")
        #expect(confirm.body.contains("Join Acme &lt;EU&gt;</button>"))
        #expect(
            try await f.service(.eu).memberships(
                accountID: try #require(try f.app.gateway.accounts.find(email: "mia@acme.test")).id
            ).isEmpty)
        let joined = await b.go("POST", "/invite/\(token)/accept", form: [("csrf", b.csrf)])
        #expect(
            joined.status == 303 && joined.location == "/apps/portal/", "redirect to the membership's starting page")
        #expect(b.cookies["gh_org"] == org)
        // The link is spent.
        let again = await FormBrowser(f.client).go("GET", "/invite/\(token)")
        #expect(again.status == 410 && again.body.contains("already used"))
        // Home lists the org with its role.
        let home = await b.go("GET", "/")
        #expect(home.body.contains("Acme &lt;EU&gt;") && home.body.contains("EU · Manager"))
    }

    @Test func badLinksGetAPageThatSaysWhatToDo() async throws {
        let f = try GatewayFixture()
        let (_, _, token) = try await Self.orgWithInvite(f, email: "mia@acme.test")
        let b = FormBrowser(f.client)
        let forged = await b.go("GET", "/invite/\(token.dropLast(3))abc")
        #expect(forged.status == 404 && forged.body.contains("This link is not valid"))
        let garbage = await b.go("GET", "/invite/%3Cscript%3E")
        #expect(garbage.status == 404 && !garbage.body.contains("<script>"))
        f.clock.advance(by: 73 * 3600)
        let expired = await b.go("GET", "/invite/\(token)")
        #expect(expired.status == 410 && expired.body.contains("expired") && expired.body.contains("resend"))
    }

    @Test func anAccountHolderSignsInFirstAndAnotherEmailIsRefused() async throws {
        let f = try GatewayFixture()
        let (_, _, token) = try await Self.orgWithInvite(
            f, email: "max@acme.test", roles: #"["viewer"]"#, page: "studio")
        _ = try await f.app.gateway.accounts.create(
            email: "max@acme.test", firstName: "Max", lastName: "", password: "max-password-1")
        _ = try await f.app.gateway.accounts.create(
            email: "eve@evil.test", firstName: "Eve", lastName: "", password: "eve-password-1")
        // Eve, signed in, opens Max's link: refused with a clear message, nothing joined.
        let eve = FormBrowser(f.client)
        _ = await eve.go("GET", "/login")
        #expect(
            await eve.go(
                "POST", "/login",
                form: [("csrf", eve.csrf), ("email", "eve@evil.test"), ("password", "eve-password-1")]
            ).status == 303)
        let wrong = await eve.go("GET", "/invite/\(token)")
        #expect(wrong.status == 403 && wrong.body.contains("Only max@acme.test can accept"))
        let forcedAccept = await eve.go("POST", "/invite/\(token)/accept", form: [("csrf", eve.csrf)])
        #expect(forcedAccept.status == 403)
        // Max: the link says sign in first, then comes back to confirm.
        let max = FormBrowser(f.client)
        let page = await max.go("GET", "/invite/\(token)")
        #expect(page.body.contains("Sign in to continue"))
        let loginPage = await max.go("GET", "/login?next=%2Finvite%2F\(token)")
        #expect(loginPage.status == 200)
        let wrongPassword = await max.go(
            "POST", "/login",
            form: [
                ("csrf", max.csrf), ("email", "max@acme.test"), ("password", "nope-nope-nope"),
                ("next", "/invite/\(token)"),
            ])
        let unknown = await FormBrowser(f.client).go(
            "POST", "/login", form: [("csrf", ""), ("email", "nobody@acme.test"), ("password", "nope-nope-nope")])
        #expect(wrongPassword.status == 401 && wrongPassword.body.contains("do not match"))
        #expect(unknown.status == 403, "no CSRF token: refused before any password check")
        let login = await max.go(
            "POST", "/login",
            form: [
                ("csrf", max.csrf), ("email", "max@acme.test"), ("password", "max-password-1"),
                ("next", "/invite/\(token)"),
            ])
        #expect(login.status == 303 && login.location == "/invite/\(token)")
        _ = await max.go("GET", "/invite/\(token)")
        let joined = await max.go("POST", "/invite/\(token)/accept", form: [("csrf", max.csrf)])
        #expect(joined.location == "/apps/studio/")
        // An off-site `next` is ignored.
        let offsite = FormBrowser(f.client)
        _ = await offsite.go("GET", "/login")
        let r = await offsite.go(
            "POST", "/login",
            form: [
                ("csrf", offsite.csrf), ("email", "max@acme.test"), ("password", "max-password-1"),
                ("next", "//evil.test/x"),
            ])
        #expect(r.location == "/")
    }

    @Test func pendingInvitesAreNotificationsAndSSOOnlyOrgsNeedSSO() async throws {
        let f = try GatewayFixture()
        let (org, _, _) = try await Self.orgWithInvite(f, email: "sam@acme.test", ssoOnly: true)
        _ = try await f.app.gateway.accounts.create(
            email: "sam@acme.test", firstName: "Sam", lastName: "", password: "sam-password-1")
        let sam = FormBrowser(f.client)
        _ = await sam.go("GET", "/login")
        _ = await sam.go(
            "POST", "/login", form: [("csrf", sam.csrf), ("email", "sam@acme.test"), ("password", "sam-password-1")])
        let home = await sam.go("GET", "/")
        #expect(home.body.contains("id=\"invitations\"") && home.body.contains("Acme &lt;EU&gt;"))
        // Accepting an SSO-only invite with a password session sends Sam to SSO instead.
        let tokenStart = try #require(home.body.range(of: "action=\"/invite/"))
        let token = String(home.body[tokenStart.upperBound...].prefix { $0 != "/" })
        let accept = await sam.go("POST", "/invite/\(token)/accept", form: [("csrf", sam.csrf)])
        #expect(accept.status == 303 && accept.location == "/invite/\(token)")
        let page = await sam.go("GET", "/invite/\(token)")
        #expect(page.body.contains("/sso/\(org)/login"))
        // Decline from the notification.
        let declined = await sam.go("POST", "/invite/\(token)/decline", form: [("csrf", sam.csrf)])
        #expect(declined.status == 200 && declined.body.contains("declined"))
        #expect(!(await sam.go("GET", "/")).body.contains("id=\"invitations\""))
    }

    @Test func theSwitcherSendsPasswordSessionsOfSSOOnlyMembersToSSO() async throws {
        let f = try GatewayFixture()
        let (org, olga, _) = try await Self.orgWithInvite(f, email: "kim@acme.test")
        // Make Olga's own membership SSO-only is not allowed for the last owner path; use a second member.
        let eu = try f.service(.eu)
        let kimToken = eu.mailedToken(
            for: try #require(try await eu.pendingInvites(email: "kim@acme.test").first?.invite))
        let kim = f.browser("10.8.0.9")
        #expect(
            await kim.call("POST", "/api/v1/invites/\(kimToken)/accept", #"{"password":"kim-password-1"}"#).status
                == 200)
        let kimID = try await #require(try f.app.gateway.accounts.find(email: "kim@acme.test")).id
        #expect(await olga.call("PATCH", "/api/v1/orgs/\(org)/members/\(kimID)", #"{"ssoOnly":true}"#).status == 200)
        let b = FormBrowser(f.client)
        _ = await b.go("GET", "/login")
        _ = await b.go(
            "POST", "/login", form: [("csrf", b.csrf), ("email", "kim@acme.test"), ("password", "kim-password-1")])
        _ = await b.go("GET", "/")
        let sw = await b.go("POST", "/switch", form: [("csrf", b.csrf), ("org", org)])
        #expect(sw.status == 303 && sw.location?.hasPrefix("/sso/\(org)/login") == true)
        let api = await kim.call("GET", "/api/v1/orgs/\(org)")
        #expect(api.status == 403 && api.body.contains("sso_required"))
        let noCSRF = await b.go("POST", "/switch", form: [("org", org)])
        #expect(noCSRF.status == 403)
    }
}
