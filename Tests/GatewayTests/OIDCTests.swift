import Foundation
import GatehouseCore
import Gateway
import HTTP
import Testing

/// The gateway's side of OpenID Connect that needs no provider: what a connection may be, the secret never
/// leaving, who may change it, and sign-ins in flight taken once, by their org and browser, while they live.
/// The flow against a real provider is `Tests/OIDC/oidc_interop.py`.
@Suite("OIDC: connections and sign-ins in flight")
struct OIDCTests {
    @Test func connectionsAreChecked() throws {
        let base = OIDCSettingsUpdate(
            preset: nil, issuer: "https://login.example.com", clientID: "app", clientSecret: "secret", scopes: nil,
            allowedDomains: nil, hostedDomain: nil, claims: nil, jit: nil)
        func with(_ change: (inout OIDCSettingsUpdate) -> Void) -> OIDCSettingsUpdate {
            var u = base
            change(&u)
            return u
        }
        let refused: [(String, OIDCSettingsUpdate)] = [
            ("http off loopback", with { $0.issuer = "http://login.example.com" }),
            ("not http", with { $0.issuer = "ftp://login.example.com" }),
            ("a query", with { $0.issuer = "https://login.example.com/?tenant=x" }),
            ("no secret on first save", with { $0.clientSecret = nil }),
            ("no openid scope", with { $0.scopes = ["email"] }),
            ("no email scope", with { $0.scopes = ["openid"] }),
            ("empty client id", with { $0.clientID = " " }),
            ("a bad domain", with { $0.allowedDomains = ["not a domain"] }),
        ]
        for (name, u) in refused {
            #expect(throws: GatehouseError.self, "\(name)") { try u.applied(to: nil) }
        }
        let saved = try base.applied(to: nil)
        #expect(saved.scopes == ["openid", "email", "profile"] && saved.jit.enabled == false)
        #expect(try with { $0.issuer = "http://127.0.0.1:9400" }.applied(to: nil).issuer == "http://127.0.0.1:9400")
        // Leaving the secret out keeps the stored one; a preset only fills what is not given.
        #expect(try with { $0.clientSecret = nil }.applied(to: saved).clientSecret == "secret")
        let google = try with {
            $0.preset = .google
            $0.issuer = nil
            $0.hostedDomain = "Acme.TEST"
        }.applied(to: nil)
        #expect(google.issuer == "https://accounts.google.com" && google.hostedDomain == "acme.test")
    }

    @Test func theSecretNeverLeavesAndOnlySSOManagersChangeIt() async throws {
        let f = try GatewayFixture()
        let (org, olga, token) = try await PageTests.orgWithInvite(f, email: "mia@acme.test", roles: #"["manager"]"#)
        let mia = f.browser("10.6.0.1")
        #expect(
            await mia.call("POST", "/api/v1/invites/\(token)/accept", #"{"password":"mia-password-long"}"#).status
                == 200)
        let settings = try OIDCSettingsUpdate(
            preset: nil, issuer: "https://login.example.com", clientID: "app", clientSecret: "very-secret-value",
            scopes: nil, allowedDomains: nil, hostedDomain: nil, claims: nil, jit: nil
        ).applied(to: nil)
        try await f.app.gateway.sso.saveOIDC(settings, org: org, by: "test")
        let view = await olga.call("GET", "/api/v1/orgs/\(org)/sso/oidc")
        #expect(view.status == 200 && view.json["clientSecretSet"] as? Bool == true)
        #expect(!view.body.contains("very-secret-value"))
        #expect(view.json["redirectURI"] as? String == "http://127.0.0.1:8080/sso/\(org)/oidc/callback")
        // A manager may not manage SSO; an owner may not make owners by JIT (refused before any provider call).
        #expect(await mia.call("GET", "/api/v1/orgs/\(org)/sso/oidc").status == 403)
        let put = #"{"clientID":"app","jit":{"enabled":true,"defaultRole":"owner"}}"#
        #expect(await mia.call("PUT", "/api/v1/orgs/\(org)/sso/oidc", put).status == 403)
        let owner = await olga.call("PUT", "/api/v1/orgs/\(org)/sso/oidc", put)
        #expect(owner.status == 403 && owner.body.contains("JIT default role"))
        await #expect(try f.app.gateway.sso.oidcSettings(org: org) == settings, "nothing changed")
        #expect(await olga.call("DELETE", "/api/v1/orgs/\(org)/sso/oidc").status == 204)
        await #expect(try f.app.gateway.sso.oidcSettings(org: org) == nil)
    }

    @Test func aSignInInFlightIsTakenOnceByItsOrgAndBrowser() async throws {
        let f = try GatewayFixture()
        let sso = f.app.gateway.sso
        let pending = OIDCPendingSignIn(nonce: "n", verifier: "v", next: "/x")
        let org = "org_eu_aaaaaaaaaaaaaaaa"
        let cases: [(String, String, String?, Bool)] = [
            ("another org", "org_eu_bbbbbbbbbbbbbbbb", "browser-1", false),
            ("no cookie", org, nil, false),
            ("another browser", org, "browser-2", false),
            ("its org and browser", org, "browser-1", true),
        ]
        for (name, askedOrg, browser, taken) in cases {
            let state = "state-\(name)"
            try await sso.rememberOIDC(state: state, org: org, browser: "browser-1", pending: pending)
            let got = try await sso.takeOIDC(state: state, org: askedOrg, browser: browser)
            #expect((got != nil) == taken, "\(name)")
            // Whatever the first answer, the state is spent.
            #expect(try await sso.takeOIDC(state: state, org: org, browser: "browser-1") == nil, "\(name): once")
        }
        try await sso.rememberOIDC(state: "late", org: org, browser: "b", pending: pending)
        f.clock.advance(by: Double(SSOStore.requestLifetime) + 1)
        #expect(try await sso.takeOIDC(state: "late", org: org, browser: "b") == nil, "expired")
    }
}
