import Foundation
import GatehouseCore
import Gateway
import HTTP
import Testing

/// The first run, from an empty data directory to a region console, with nothing but the links the product
/// shows: the setup link `serve` prints, the password page it leads to, the region console's first-org form.
@Suite("First run: setup link to region console")
struct FirstRunTests {
    @Test func fromTheSetupLinkToTheFirstOrganization() async throws {
        let f = try GatewayFixture()
        let g = f.app.gateway
        #expect(try await g.needsSetup())
        let token = try g.beginSetup()
        // Another gateway on the same stores (scale-out) honours the link this one printed, and its own.
        let other = try f.uncachedTwin()
        let otherToken = try other.gateway.beginSetup()
        #expect(try await other.gateway.setupTokenIsLive(token))
        #expect(try await g.setupTokenIsLive(otherToken))
        let b = FormBrowser(f.client)
        #expect(await b.go("GET", "/setup/not-the-token").status == 410)
        let page = await b.go("GET", "/setup/\(token)")
        #expect(page.status == 200 && page.body.contains("name=\"region\" value=\"eu\""))
        // No CSRF: refused, nothing made.
        #expect(await b.go("POST", "/setup/\(token)", form: [("email", "ops@x.test"), ("region", "eu")]).status == 403)
        #expect(try await g.needsSetup())
        let bad = await b.go("POST", "/setup/\(token)", form: [("csrf", b.csrf), ("email", "nope"), ("region", "eu")])
        #expect(bad.status == 422 && bad.body.contains("value=\"nope\""), "the form comes back with the reason")
        let done = await b.go(
            "POST", "/setup/\(token)", form: [("csrf", b.csrf), ("email", "ops@x.test"), ("region", "eu")])
        let link = try #require(done.location)
        #expect(done.status == 303 && link.hasPrefix("/bootstrap/"))
        #expect(try await !g.needsSetup())
        // The setup link is spent, and every other one with it; a second operator cannot be made through them.
        #expect(await FormBrowser(f.client).go("GET", "/setup/\(token)").status == 410)
        #expect(try await !other.gateway.setupTokenIsLive(otherToken))
        #expect(try await !g.setupTokenIsLive(otherToken))
        let again = await b.go(
            "POST", "/setup/\(token)", form: [("csrf", b.csrf), ("email", "eve@x.test"), ("region", "us")])
        #expect(again.status == 410)
        // The password page signs in and lands on the region console, which says what to do first.
        _ = await b.go("GET", link)
        let signedIn = await b.go("POST", link, form: [("password", "operator-pass-1")])
        #expect(signedIn.status == 303 && signedIn.location == "/region/eu")
        let console = await b.go("GET", "/region/eu")
        #expect(console.status == 200 && console.body.contains("Provision your first organization"))
        // Home leads there too (it was a dead end for an operator).
        let home = await b.go("GET", "/")
        #expect(home.body.contains("id=\"region-console\" href=\"/region/eu\""))
        #expect(
            await b.go(
                "POST", "/region/eu/provision",
                form: [("csrf", b.csrf), ("name", "First Co"), ("ownerEmail", "o@x.test")]
            ).status == 303)
        let after = await b.go("GET", "/region/eu")
        #expect(after.body.contains("First Co") && !after.body.contains("Provision your first organization"))
    }
}
