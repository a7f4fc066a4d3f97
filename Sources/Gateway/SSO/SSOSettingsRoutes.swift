import Foundation
import GatehouseCore
import HTTP
import Net
import SAML
import TenantAPI
import TenantDomain
import Web

/// The SSO settings API of an org (`sso.manage`): the IdP, JIT, attribute mapping, and email domain claims proven
/// by DNS. The browser side of SSO (metadata, login, ACS, linking) is `SSOPages` in the Console target.
package enum SSOSettingsRoutes {
    package static func register(on b: RouterBuilder, gateway g: GatewayService) {
        let logger = b.logger
        // Every route: a caller (session with CSRF, or API key) holding sso.manage in the org, checked once.
        let sso = b.group("/api/v1/orgs/:org/sso", Authenticate(gateway: g), RequireSSOManage(gateway: g))

        // Domain claims: proven by a DNS TXT record before they route sign-ins or allow JIT.
        sso.get("/domains") { ctx in
            let org = try ctx.parameter("org")
            return try await .json(try g.trust.claims(org: org))
        }
        sso.post("/domains") { ctx in
            let org = try ctx.parameter("org")
            struct Body: Codable { let domain: String }
            return try .json(try await g.trust.claim(try ctx.decode(Body.self).domain, org: org), status: 201)
        }
        sso.post("/domains/:domain/verify") { ctx in
            let org = try ctx.parameter("org")
            let caller = try ctx.authenticatedCaller()
            if let wait = g.limiter.attempt([("dns:" + org, g.settings.domainChecksPerOrg)]) {
                throw RateLimiter.refusal(wait)
            }
            let claim = try await g.trust.verify(
                try ctx.parameter("domain"), org: org, resolver: g.settings.dnsResolver, pool: g.dnsPool)
            logger.info(
                "sso domain verified",
                ["org": .string(org), "by": .string(caller.accountID), "domain": .string(claim.domain)])
            return try .json(claim)
        }
        sso.delete("/domains/:domain") { ctx in
            let org = try ctx.parameter("org")
            try await g.trust.unclaim(try ctx.parameter("domain"), org: org)
            return Response(status: 204)
        }

        sso.get("") { ctx in
            let org = try ctx.parameter("org")
            return try await .json(
                SSOView(
                    org: org, settings: try g.sso.settings(org: org), sp: g.serviceProvider(org: org),
                    domains: try g.trust.claims(org: org)))
        }

        sso.put("") { ctx in
            let org = try ctx.parameter("org")
            let caller = try ctx.authenticatedCaller()
            let settings = try await g.saveSSOSettings(try ctx.decode(SSOSettingsUpdate.self), org: org, caller: caller)
            logger.info(
                "sso settings saved",
                ["org": .string(org), "by": .string(caller.accountID), "idp": .string(settings.idp.entityID)])
            return try await .json(
                SSOView(
                    org: org, settings: settings, sp: g.serviceProvider(org: org), domains: try g.trust.claims(org: org)
                ))
        }

        // OpenID Connect, next to SAML: the connection without its secret, saved only once the provider's
        // discovery document answers with the same issuer.
        sso.get("/oidc") { ctx in
            let org = try ctx.parameter("org")
            return try await .json(
                OIDCView(try g.sso.oidcSettings(org: org), baseURL: g.settings.publicBaseURL, org: org))
        }
        sso.put("/oidc") { ctx in
            let org = try ctx.parameter("org")
            let caller = try ctx.authenticatedCaller()
            let settings = try await g.saveOIDCSettings(
                try ctx.decode(OIDCSettingsUpdate.self), org: org, caller: caller)
            logger.info("oidc settings saved", ["org": .string(org), "by": .string(caller.accountID)])
            return try .json(OIDCView(settings, baseURL: g.settings.publicBaseURL, org: org))
        }
        sso.delete("/oidc") { ctx in
            try await g.deleteOIDCSettings(org: try ctx.parameter("org"), caller: try ctx.authenticatedCaller())
            return Response(status: 204)
        }

        sso.delete("") { ctx in
            let org = try ctx.parameter("org")
            let caller = try ctx.authenticatedCaller()
            try await g.sso.delete(org: org)
            try await g.regions.tenant(forOrg: org).recordSSOChange(
                SSOChangeRecord(orgID: org, actorID: caller.accountID, action: .deleted, summary: [:]))
            return Response(status: 204)
        }
    }
}

/// `GET /api/v1/orgs/:org/sso`: the settings (nil until configured) and the SP facts to give the IdP.
struct SSOView: Codable {
    struct SP: Codable {
        let entityID: String
        let acsURL: String
        let sloURL: String
        let metadataURL: String
        let loginURL: String
    }
    let configured: Bool
    let settings: SSOSettings?
    let sp: SP
    /// The org's email domain claims, each with the DNS record that proves it.
    let domains: [DomainClaim]

    init(org: String, settings: SSOSettings?, sp: ServiceProvider, domains: [DomainClaim]) {
        configured = settings != nil
        self.settings = settings
        self.domains = domains
        self.sp = SP(
            entityID: sp.entityID, acsURL: sp.acsURL, sloURL: sp.sloURL, metadataURL: sp.metadataURL,
            loginURL: sp.loginURL)
    }
}
