import Foundation
import GatehouseCore
import HTTP
import SAML
import Tenant
import TenantDomain
import Web

/// The SAML Service Provider of every org: metadata, SP-initiated login (HTTP-Redirect), the ACS
/// (HTTP-POST), and the SSO settings API (`sso.manage`).
enum SSORoutes {
    static func register(on b: RouterBuilder, gateway g: GatewayService) {
        let logger = b.logger

        b.get("/sso/:org/metadata") { ctx in
            let org = try ctx.parameter("org")
            guard OrgID(org) != nil else { throw Refusal.notFound.error }
            let settings = try g.sso.settings(org: org)
            let sp = g.serviceProvider(org: org, signRequests: settings?.signRequests ?? false)
            return Response(status: 200, headers: ["Content-Type": "application/samlmetadata+xml; charset=utf-8",
                                                   "Content-Disposition": "inline; filename=\"gatehouse-\(org)-sp.xml\""],
                            body: Array(sp.metadataXML().utf8))
        }

        b.get("/sso/start") { ctx in
            let next = BrowserSession.safeNext(ctx.query("next"))
            let who = (ctx.query("who") ?? "").trimmingCharacters(in: .whitespaces)
            var org: String?
            if let at = who.lastIndex(of: "@") {
                org = try g.sso.org(forDomain: String(who[who.index(after: at)...]))
            } else if OrgID(who) != nil, try g.sso.settings(org: who) != nil {
                org = who
            }
            guard let org else {
                let (csrf, cookie) = BrowserSession.preSessionToken(g, ctx)
                let message = who.contains("@") ? "No organization uses single sign-on for that email domain. Sign in with your password instead."
                                                : "No organization with that ID uses single sign-on."
                var r = HTMLPage.render(title: "Sign in", viewer: nil, body: AccountPages.loginForm(csrf: csrf, next: next)
                    .replacingOccurrences(of: AccountPages.ssoForm(next: next), with: AccountPages.ssoForm(next: next, who: who, error: message)), status: 404)
                if let cookie { r.setCookie(cookie) }
                return r
            }
            return .redirect(to: "/sso/\(org)/login?next=" + FormDecoding.percentEncode(next), status: 302)
        }

        b.get("/sso/:org/login") { ctx in
            let org = try ctx.parameter("org")
            guard OrgID(org) != nil, let settings = try g.sso.settings(org: org) else { return notConfigured() }
            let next = BrowserSession.safeNext(ctx.query("next"))
            let sp = g.serviceProvider(org: org, signRequests: settings.signRequests)
            let id = ServiceProvider.newRequestID()
            try await g.sso.rememberRequest(id: id, org: org, next: next)
            let url = try sp.redirectURL(idpSSOURL: settings.idp.ssoURL, requestID: id, relayState: next, now: g.clock.now())
            var r = Response.redirect(to: url, status: 302)
            r.headers.add("Cache-Control", "no-store")
            return r
        }

        // The IdP's browser POST. No CSRF token can exist here (the form comes from the IdP); the signature, the
        // InResponseTo of a request this SP sent, and one-time assertion ids protect it instead.
        b.post("/sso/:org/acs") { ctx in
            let org = try ctx.parameter("org")
            guard OrgID(org) != nil, let settings = try g.sso.settings(org: org) else { return notConfigured() }
            if let wait = g.limiter.attempt([("sso:" + g.clientKey(ctx), g.settings.acceptPerAddress)]) { return HTMLPage.slowDown(wait) }
            let form = try ctx.formPairs()
            guard let posted = form.value("SAMLResponse") else {
                return HTMLPage.notice("Sign-in failed", "The identity provider did not send a SAML response.", action: ("Try again", "/sso/\(org)/login"), status: 400)
            }
            let sp = g.serviceProvider(org: org, signRequests: settings.signRequests)
            let login: SAMLLogin
            var next: String?
            var requestID: String?
            do {
                let xml = try SAMLResponseValidator.decode(Array(posted.utf8))
                // One parse: the validator hands over the Response's InResponseTo, and the request it answers (if
                // this SP sent it and it is still live) decides what is expected.
                login = try SAMLResponseValidator.validate(xml) { irt throws(SAMLRefusal) in
                    if let irt {
                        let found: String?
                        do { found = try g.sso.pendingRequest(id: irt, org: org) } catch {
                            throw SAMLRefusal("unavailable", "sign-in is briefly unavailable; try again")
                        }
                        if let found {
                            requestID = irt
                            next = found
                        }
                    }
                    return SAMLExpectations(certificates: settings.idp.parsedCertificates(), idpEntityID: settings.idp.entityID, audience: sp.entityID,
                                            acsURL: sp.acsURL, inResponseTo: requestID, allowIdPInitiated: settings.allowIdPInitiated,
                                            allowSHA1: settings.allowSHA1, now: g.clock.now())
                }
                switch try await g.sso.consume(assertionID: login.assertionID, org: org, until: login.validUntil, requestID: requestID) {
                case .accepted: break
                case .replayed: throw SAMLRefusal("replayed", "this sign-in response was already used")
                case .requestAlreadyAnswered: throw SAMLRefusal("replayed", "this sign-in request was already answered")
                }
            } catch let r as SAMLRefusal {
                logger.warning("saml response refused", ["org": .string(org), "saml.refusal": .string(r.code), "reason": .string(r.reason)])
                return HTMLPage.notice("Sign-in failed", "Your identity provider's answer was not accepted: \(r.reason).",
                                       action: ("Try again", "/sso/\(org)/login"), status: 403)
            }
            if next == nil, let relay = form.value("RelayState"), !relay.isEmpty { next = BrowserSession.safeNext(relay) }

            let mapping = settings.attributes
            let email = Email.normalize((mapping.email.flatMap { login.attributes[$0]?.first } ?? login.nameID).trimmingCharacters(in: .whitespaces))
            guard Email.isValid(email) else {
                return HTMLPage.notice("Sign-in failed", "Your identity provider did not give an email address Gatehouse can use.", status: 403)
            }
            let first = String((login.attributes[mapping.firstName]?.first ?? "").prefix(100))
            let last = String((login.attributes[mapping.lastName]?.first ?? "").prefix(100))
            var variables: [String: String] = [:]
            for (attribute, variable) in mapping.variables {
                if let values = login.attributes[attribute], !values.isEmpty { variables[variable] = String(values.joined(separator: ",").prefix(1024)) }
            }
            var created: Account?
            var account = try g.accounts.find(email: email)
            if account == nil {
                do {
                    account = try await g.accounts.create(email: email, firstName: first, lastName: last, password: nil)
                    created = account
                } catch let e as GatehouseError where e.code.slug == "account_exists" {
                    account = try g.accounts.find(email: email)   // a concurrent sign-in made it first
                }
            }
            guard let account else { throw GatehouseError.internalError(detail: "account missing") }
            let result: SSOSignInResult
            do {
                let tenant = try g.regions.tenant(forOrg: org)
                result = try await tenant.ssoSignIn(SSOSignInRequest(orgID: org, accountID: account.id, email: email, firstName: first, lastName: last,
                                                                     userVariables: variables, jitRole: settings.jit.enabled ? settings.jit.defaultRole : nil))
            } catch let e as GatehouseError {
                if let created { try? await g.accounts.deleteUnusedSSOAccount(id: created.id) }
                logger.info("saml sign-in refused by region", ["org": .string(org), "error.code": .string(e.code.slug)])
                return HTMLPage.notice("You cannot sign in here", e.message, status: e.status)
            }
            if let old = g.sessionToken(ctx) { try? await g.sessions.revoke(old) }
            let (token, _) = try await g.sessions.create(accountID: account.id, method: "saml:\(org)")
            logger.info("saml sign-in", ["org": .string(org), "account": .string(account.id), "outcome": .string(result.outcome)])
            var target = next ?? g.settings.destination(result.startingPage)
            if result.outcome == "invite_accepted" && target.hasPrefix("/invite/") { target = g.settings.destination(result.startingPage) }
            var r = Response.redirect(to: target)
            r.setCookie(g.sessionCookie(token))
            r.setCookie(BrowserSession.currentOrgCookie(g, org: org))
            return r
        }

        // Settings API.
        @Sendable func requireManager(_ ctx: RequestContext, _ org: String) async throws -> Caller {
            let caller = try await g.caller(ctx)
            let standing = try await g.regions.tenant(forOrg: org).standing(orgID: org, caller: caller)
            guard standing.permissions.contains(Permission.ssoManage.rawValue) else { throw GatehouseError.forbidden("Managing single sign-on needs the sso.manage permission.") }
            return caller
        }

        b.get("/api/v1/orgs/:org/sso") { ctx in
            let org = try ctx.parameter("org")
            _ = try await requireManager(ctx, org)
            return try .json(SSOView(org: org, settings: try g.sso.settings(org: org), sp: g.serviceProvider(org: org)))
        }

        b.put("/api/v1/orgs/:org/sso") { ctx in
            let org = try ctx.parameter("org")
            let caller = try await requireManager(ctx, org)
            let update = try ctx.decode(SSOSettingsUpdate.self)
            let settings = try update.applied(to: try g.sso.settings(org: org))
            if settings.signRequests && g.settings.samlSigningKey == nil {
                throw GatehouseError(.init("no_sp_key"), status: 422, "Signed requests need an SP key: set saml.spKeyFile and saml.spCertFile in the configuration.")
            }
            try await g.sso.save(settings, org: org, by: caller.accountID)
            logger.info("sso settings saved", ["org": .string(org), "by": .string(caller.accountID), "idp": .string(settings.idp.entityID)])
            return try .json(SSOView(org: org, settings: settings, sp: g.serviceProvider(org: org)))
        }

        b.delete("/api/v1/orgs/:org/sso") { ctx in
            let org = try ctx.parameter("org")
            _ = try await requireManager(ctx, org)
            try await g.sso.delete(org: org)
            return Response(status: 204)
        }
    }

    static func notConfigured() -> Response {
        HTMLPage.notice("Single sign-on is not set up", "This organization has no single sign-on configured. Sign in with your password, or ask an administrator.",
                        action: ("Sign in", "/login"), status: 404)
    }
}

/// `GET /api/v1/orgs/:org/sso`: the settings (nil until configured) and the SP facts to give the IdP.
struct SSOView: Codable {
    struct SP: Codable {
        let entityID: String
        let acsURL: String
        let metadataURL: String
        let loginURL: String
    }
    let configured: Bool
    let settings: SSOSettings?
    let sp: SP

    init(org: String, settings: SSOSettings?, sp: ServiceProvider) {
        configured = settings != nil
        self.settings = settings
        self.sp = SP(entityID: sp.entityID, acsURL: sp.acsURL, metadataURL: sp.metadataURL, loginURL: sp.loginURL)
    }
}
