import Foundation
import GatehouseCore
import Gateway
import HTTP
import Mail
import Synchronization
import Testing

/// Forgot password: the same answer for every address, a mailed link that works once, for its lifetime only,
/// for its own account only, ends every session, and is stored nowhere; limits per address asked for and per
/// client; mail at most once.
@Suite("Forgot password: one-time links by mail")
struct PasswordResetTests {
    static func world() async throws -> (GatewayFixture, CapturingTransport) {
        let f = try GatewayFixture()
        for (email, pass) in [("bo@x.test", "bo-password-1"), ("cy@x.test", "cy-password-1")] {
            _ = try await f.app.gateway.accounts.create(email: email, firstName: "B", lastName: "", password: pass)
        }
        return (f, CapturingTransport())
    }

    /// The token of the last mail to `to` (the link's last path segment).
    static func token(_ mail: CapturingTransport, to: String) throws -> String {
        let m = try #require(mail.sent.withLock { $0.last { $0.to == to } })
        let link = try #require(m.link)
        #expect(m.text.contains(link) && m.html.contains(link), "the link is in both parts")
        return String(try #require(link.split(separator: "/").last))
    }

    @Test func theAnswerIsTheSameForEveryAddressAndOnlyAccountsGetMail() async throws {
        let (f, mail) = try await Self.world()
        let g = f.app.gateway
        let b = f.browser()
        let known = await b.call("POST", "/api/v1/auth/password/forgot", #"{"email":"Bo@X.test"}"#)
        let unknown = await b.call("POST", "/api/v1/auth/password/forgot", #"{"email":"nobody@x.test"}"#)
        #expect(known.status == 202 && unknown.status == 202)
        #expect(known.body == unknown.body)
        // The pages too: the same page whether or not there is an account.
        let page = FormBrowser(f.client)
        _ = await page.go("GET", "/forgot")
        let p1 = await page.go("POST", "/forgot", form: [("csrf", page.csrf), ("email", "cy@x.test")])
        let p2 = await page.go("POST", "/forgot", form: [("csrf", page.csrf), ("email", "nobody2@x.test")])
        #expect(p1.status == 200 && p1.body == p2.body && p1.body.contains("Check your mail"))
        #expect(g.resets.deliverDue(mail) == 2)
        #expect(mail.sent.withLock { $0.map(\.to).sorted() } == ["bo@x.test", "cy@x.test"])
        #expect(g.resets.deliverDue(mail) == 0, "each link is mailed once")
        // Bad input: a clear error, nothing queued.
        #expect(await b.call("POST", "/api/v1/auth/password/forgot", #"{"email":"not an address"}"#).status == 422)
        #expect(await b.call("POST", "/api/v1/auth/password/forgot", #"{"mail":"bo@x.test"}"#).status == 422)
        #expect(g.resets.deliverDue(mail) == 0)
        // The form needs its CSRF token.
        let forged = await FormBrowser(f.client).go("POST", "/forgot", form: [("email", "bo@x.test")])
        #expect(forged.status == 403)
    }

    @Test func aLinkSetsThePasswordOnceAndEndsEverySession() async throws {
        let (f, mail) = try await Self.world()
        let g = f.app.gateway
        let signedIn = f.browser("10.1.0.1")
        #expect(
            await signedIn.call("POST", "/api/v1/auth/login", #"{"email":"bo@x.test","password":"bo-password-1"}"#)
                .status == 200)
        let asker = f.browser("10.1.0.2")
        _ = await asker.call("POST", "/api/v1/auth/password/forgot", #"{"email":"bo@x.test"}"#)
        _ = await asker.call("POST", "/api/v1/auth/password/forgot", #"{"email":"bo@x.test"}"#)
        g.resets.deliverDue(mail)
        let links = mail.sent.withLock { $0.compactMap(\.link) }
        #expect(links.count == 2 && Set(links).count == 2)
        let first = String(try #require(links[0].split(separator: "/").last))
        let second = String(try #require(links[1].split(separator: "/").last))
        // The stored rows hold no link: neither MAC is anywhere in the store.
        let rows = try f.app.gatewayStore.readNow { try $0.query("SELECT * FROM password_resets") }
        let dump = rows.map { "\($0.values)" }.joined()
        for t in [first, second] { #expect(!dump.contains(String(t.split(separator: ".")[1]))) }
        // The page names the account; a weak password is refused and the link still works.
        let page = FormBrowser(f.client)
        let shown = await page.go("GET", "/reset/\(first)")
        #expect(shown.status == 200 && shown.body.contains("bo@x.test"))
        let weak = await page.go(
            "POST", "/reset/\(first)", form: [("csrf", page.csrf), ("password", "short"), ("confirm", "short")])
        #expect(weak.status == 422)
        let mismatch = await page.go(
            "POST", "/reset/\(first)",
            form: [("csrf", page.csrf), ("password", "bo-password-2"), ("confirm", "bo-password-3")])
        #expect(mismatch.status == 422 && mismatch.body.contains("not the same"))
        let done = await page.go(
            "POST", "/reset/\(first)",
            form: [("csrf", page.csrf), ("password", "bo-password-2"), ("confirm", "bo-password-2")])
        #expect(done.status == 200 && done.body.contains("Password changed"))
        // Every session ended; the old password is gone, the new one works.
        #expect(await signedIn.call("GET", "/api/v1/me").status == 401)
        #expect(try await g.accounts.authenticate(email: "bo@x.test", password: "bo-password-1") == nil)
        #expect(try await g.accounts.authenticate(email: "bo@x.test", password: "bo-password-2") != nil)
        // Once only, and the other link of the account is spent with it.
        for t in [first, second] {
            let again = await asker.call(
                "POST", "/api/v1/auth/password/reset", "{\"token\":\"\(t)\",\"password\":\"bo-password-9\"}")
            #expect(again.status == 410, "\(again.body)")
            #expect(await page.go("GET", "/reset/\(t)").status == 410)
        }
        #expect(try await g.accounts.authenticate(email: "bo@x.test", password: "bo-password-2") != nil)
    }

    @Test func expiredForgedAndForeignLinksFail() async throws {
        let (f, mail) = try await Self.world()
        let g = f.app.gateway
        let b = f.browser()
        _ = await b.call("POST", "/api/v1/auth/password/forgot", #"{"email":"bo@x.test"}"#)
        _ = await b.call("POST", "/api/v1/auth/password/forgot", #"{"email":"cy@x.test"}"#)
        g.resets.deliverDue(mail)
        let bo = try Self.token(mail, to: "bo@x.test")
        let cy = try Self.token(mail, to: "cy@x.test")
        func reset(_ token: String) async -> Int {
            await b.call(
                "POST", "/api/v1/auth/password/reset",
                "{\"token\":\"\(token)\",\"password\":\"taken-over-123\"}"
            ).status
        }
        let (boID, boMAC) = (bo.split(separator: ".")[0], bo.split(separator: ".")[1])
        let (cyID, cyMAC) = (cy.split(separator: ".")[0], cy.split(separator: ".")[1])
        // Another row's id with this MAC, a flipped MAC, malformed tokens: all the same 410, nothing changes.
        var flipped = Array(Base64URL.decode(String(boMAC))!)
        flipped[0] ^= 1
        for forged in [
            "\(cyID).\(boMAC)", "\(boID).\(cyMAC)", "\(boID).\(Base64URL.encode(flipped))", "\(boID)", "",
            "\(boID).\(boMAC).x", String(repeating: "a", count: 5000),
        ] {
            #expect(await reset(forged) == 410, "\(forged.prefix(60))")
        }
        #expect(try await g.accounts.authenticate(email: "bo@x.test", password: "bo-password-1") != nil)
        #expect(try await g.accounts.authenticate(email: "cy@x.test", password: "cy-password-1") != nil)
        // Past its 30 minutes the link is dead, on the page and in the API.
        f.clock.advance(by: 1801)
        #expect(await FormBrowser(f.client).go("GET", "/reset/\(bo)").status == 410)
        #expect(await reset(bo) == 410)
        #expect(try await g.accounts.authenticate(email: "bo@x.test", password: "bo-password-1") != nil)
    }

    @Test func limitsPerAddressAskedForAndPerClient() async throws {
        let (f, mail) = try await Self.world()
        let g = f.app.gateway
        // Per address asked for: three links per 15 minutes, then silence (the answer does not change).
        for i in 0..<5 {
            let r = await f.browser("10.2.0.\(i)").call(
                "POST", "/api/v1/auth/password/forgot", #"{"email":"bo@x.test"}"#)
            #expect(r.status == 202)
        }
        g.resets.deliverDue(mail)
        #expect(mail.sent.withLock { $0.count } == 3)
        // Per client: 30 per 15 minutes, then 429 with Retry-After (about no account in particular).
        let one = f.browser("10.3.0.1")
        for i in 0..<30 {
            #expect(
                await one.call("POST", "/api/v1/auth/password/forgot", "{\"email\":\"p\(i)@x.test\"}").status == 202)
        }
        let limited = await one.call("POST", "/api/v1/auth/password/forgot", #"{"email":"cy@x.test"}"#)
        #expect(limited.status == 429 && limited.headers["Retry-After"] != nil)
        f.clock.advance(by: 901)
        #expect(await one.call("POST", "/api/v1/auth/password/forgot", #"{"email":"cy@x.test"}"#).status == 202)
    }

    @Test func mailGoesOutAtMostOnce() async throws {
        let (f, mail) = try await Self.world()
        let g = f.app.gateway
        _ = await f.browser().call("POST", "/api/v1/auth/password/forgot", #"{"email":"bo@x.test"}"#)
        // A temporary failure is retried later; a permanent one is not.
        let failing = FailingTransport(permanent: false)
        #expect(g.resets.deliverDue(failing) == 0 && failing.tries.withLock { $0 } == 1)
        #expect(g.resets.deliverDue(mail) == 0, "not due yet")
        f.clock.advance(by: 16)
        #expect(g.resets.deliverDue(mail) == 1)
        // A delivery that started and was never marked (its sender died mid-SMTP) is not repeated.
        _ = await f.browser().call("POST", "/api/v1/auth/password/forgot", #"{"email":"cy@x.test"}"#)
        try f.app.gatewayStore.writeNow {
            try $0.run("UPDATE password_resets SET mail_started_at = 1 WHERE mailed_at IS NULL")
        }
        f.clock.advance(by: 600)
        #expect(g.resets.deliverDue(mail) == 0)
        #expect(mail.sent.withLock { $0.map(\.to) } == ["bo@x.test"])
    }

    @Test func theMailIsReadableAndSaysWhatToDo() throws {
        let m = PasswordResets.mail(
            to: "bo@x.test", name: "Bo <b>", link: "https://gh.test/reset/abc.def", minutes: 30, from: "gh@x.test",
            fromName: "Gatehouse")
        #expect(m.subject == "Reset your Gatehouse password")
        #expect(m.text.contains("https://gh.test/reset/abc.def\n") && m.text.contains("30 minutes"))
        #expect(m.text.contains("If you did not ask for this"))
        #expect(m.html.contains("Bo &lt;b&gt;") && !m.html.contains("<b>"))
    }
}

final class FailingTransport: MailTransport {
    let permanent: Bool
    let tries = Mutex<Int>(0)
    init(permanent: Bool) { self.permanent = permanent }
    func deliver(_ message: MailMessage, rendered: String) throws {
        tries.withLock { $0 += 1 }
        throw MailError(permanent: permanent, "refused")
    }
}
