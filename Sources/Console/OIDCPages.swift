import Crypto
import Foundation
import GatehouseCore
import Gateway
import HTTP
import JOSE
import TenantDomain
import Web

/// OpenID Connect sign-in for an org (authorization code with PKCE): `/sso/:org/oidc/login` sends the browser to
/// the provider with a fresh `state`, `nonce` and S256 challenge, remembered for this browser only;
/// `/sso/:org/oidc/callback` takes that sign-in once, exchanges the code, verifies the ID token (`IDToken`),
/// and admits the person exactly as a SAML sign-in would (`SSOPages.admit`), with an `oidc:<org>` session.
enum OIDCPages {
    /// Binds a sign-in to the browser that started it (its digest is stored with the `state`).
    static let browserCookie = "gh_oidc"

    static func register(on b: RouterBuilder, gateway g: GatewayService) {
        let logger = b.logger

        b.get("/sso/:org/oidc/login") { ctx in
            let org = try ctx.parameter("org")
            guard OrgID(org) != nil, let settings = try await g.sso.oidcSettings(org: org) else {
                return SSOPages.notConfigured()
            }
            if let wait = g.limiter.attempt([("sso-start:" + g.clientKey(ctx), g.settings.ssoStartsPerAddress)]) {
                return HTMLPage.slowDown(wait)
            }
            let discovery: OIDCProvider.Discovery
            do { discovery = try await g.oidc.discover(settings.issuer) } catch {
                logger.warning(
                    "oidc provider unreachable",
                    ["org": .string(org), "error.detail": .string("\(error)"), "reference": .string(ctx.request.id)])
                return HTMLPage.notice(
                    "Your provider is not answering",
                    "Your organization's sign-in provider could not be reached. Try again in a minute; if it keeps "
                        + "happening, give your administrator this reference: \(ctx.request.id).",
                    action: ("Try again", "/sso/\(org)/oidc/login"), status: 502)
            }
            let next = ctx.query("next").map { BrowserSession.safeNext($0) } ?? ""
            let state = Base64URL.encode(SecureRandom.bytes(32))
            let nonce = Base64URL.encode(SecureRandom.bytes(32))
            let verifier = Base64URL.encode(SecureRandom.bytes(32))
            var browser = Cookies.value(named: browserCookie, in: ctx.request.headers) ?? ""
            if browser.utf8.count != 43 { browser = Base64URL.encode(SecureRandom.bytes(32)) }
            do {
                try await g.sso.rememberOIDC(
                    state: state, org: org, browser: browser,
                    pending: OIDCPendingSignIn(nonce: nonce, verifier: verifier, next: next))
            } catch let e as GatehouseError where e.status == 429 {
                return HTMLPage.slowDown(60)
            }
            var query: [(String, String)] = [
                ("response_type", "code"), ("client_id", settings.clientID),
                ("redirect_uri", OIDCProvider.redirectURI(baseURL: g.settings.publicBaseURL, org: org)),
                ("scope", settings.scopes.joined(separator: " ")), ("state", state), ("nonce", nonce),
                ("code_challenge", Base64URL.encode(Digest.sha256.hash(verifier))), ("code_challenge_method", "S256"),
            ]
            if let hd = settings.hostedDomain { query.append(("hd", hd)) }
            let endpoint = discovery.authorizationEndpoint.absoluteString
            let url =
                endpoint + (endpoint.contains("?") ? "&" : "?")
                + query.map { FormDecoding.percentEncode($0.0) + "=" + FormDecoding.percentEncode($0.1) }.joined(
                    separator: "&")
            var r = Response.redirect(to: url, status: 302)
            r.headers.add("Cache-Control", "no-store")
            r.setCookie(
                SetCookie(
                    name: browserCookie, value: browser, path: "/sso/\(org)/oidc/", maxAge: SSOStore.requestLifetime,
                    httpOnly: true, secure: g.settings.secureCookies, sameSite: .lax))
            return r
        }

        b.get("/sso/:org/oidc/callback") { ctx in
            let org = try ctx.parameter("org")
            guard OrgID(org) != nil, let settings = try await g.sso.oidcSettings(org: org) else {
                return SSOPages.notConfigured()
            }
            if let wait = g.limiter.attempt([("sso:" + g.clientKey(ctx), g.settings.acceptPerAddress)]) {
                return HTMLPage.slowDown(wait)
            }
            func refused(_ code: String, _ detail: String) -> Response {
                Metrics.shared.increment("gatehouse_sso_refusals_total", [("protocol", "oidc"), ("reason", code)])
                // The precise reason helps an attacker probe the checks: it goes to the log, under a reference
                // the person can give their administrator (`gatehouse oidc verify` prints it too).
                logger.warning(
                    "oidc sign-in refused",
                    [
                        "org": .string(org), "oidc.refusal": .string(code), "reason": .string(detail),
                        "reference": .string(ctx.request.id),
                    ])
                return HTMLPage.notice(
                    "Sign-in failed",
                    "Your sign-in provider's answer was not accepted. If this keeps happening, give your "
                        + "administrator this reference: \(ctx.request.id).",
                    action: ("Try again", "/sso/\(org)/oidc/login"), status: 403)
            }
            if let error = ctx.query("error") {
                return refused("provider_denied", String(error.prefix(200)))
            }
            guard let code = ctx.query("code"), let state = ctx.query("state"), code.utf8.count <= 2048,
                state.utf8.count <= 256
            else { return refused("no_code", "the callback carried no code and state") }
            guard
                let pending = try await g.sso.takeOIDC(
                    state: state, org: org, browser: Cookies.value(named: browserCookie, in: ctx.request.headers))
            else {
                return refused("bad_state", "unknown, used, expired or another browser's state")
            }
            let token: IDToken
            do {
                let discovery = try await g.oidc.discover(settings.issuer)
                let idToken = try await g.oidc.exchange(
                    code: code, verifier: pending.verifier,
                    redirectURI: OIDCProvider.redirectURI(baseURL: g.settings.publicBaseURL, org: org),
                    settings: settings, discovery: discovery)
                token = try await g.oidc.verify(idToken, settings: settings, discovery: discovery, nonce: pending.nonce)
            } catch let f as OIDCFailure {
                return refused(f.code, f.description)
            } catch {
                return refused("provider_error", "\(error)")
            }
            let email = Email.normalize(token.email.trimmingCharacters(in: .whitespaces))
            guard Email.isValid(email) else { return refused("bad_email", "the ID token's email is not usable") }
            let domain = String(email.split(separator: "@").last ?? "")
            if !settings.allowedDomains.isEmpty && !settings.allowedDomains.contains(domain) {
                return refused("domain_not_allowed", "\(domain) is not an allowed domain")
            }
            if let hd = settings.hostedDomain, token.claims["hd"]?.string != hd {
                return refused("wrong_hd", "the ID token is not from the hosted domain \(hd)")
            }
            func text(_ claim: String) -> String? {
                switch token.claims[claim] {
                case .string(let s)?: return s
                case .number(let n)?: return n == n.rounded() ? String(Int(n)) : String(n)
                case .bool(let b)?: return String(b)
                default: return nil
                }
            }
            var variables: [String: String] = [:]
            for (claim, variable) in settings.claims.variables {
                if let v = text(claim) { variables[variable] = String(v.prefix(1024)) }
            }
            return try await SSOPages.admit(
                g, ctx, org: org, email: email, first: PersonName.sanitized(text(settings.claims.firstName) ?? ""),
                last: PersonName.sanitized(text(settings.claims.lastName) ?? ""), variables: variables,
                jit: settings.jit, next: pending.next.isEmpty ? nil : pending.next, method: .oidc(org: org),
                subject: nil, logger: logger)
        }
    }
}
