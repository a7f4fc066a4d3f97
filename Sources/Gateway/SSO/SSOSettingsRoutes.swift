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
public enum SSOSettingsRoutes {
    public static func register(on b: RouterBuilder, gateway g: GatewayService) {
        let logger = b.logger
        // Settings API.
        @Sendable func requireManager(_ ctx: RequestContext, _ org: String) async throws -> Caller {
            let caller = try await g.caller(ctx)
            let standing = try await g.regions.tenant(forOrg: org).standing(orgID: org, caller: caller)
            guard standing.permissions.contains(Permission.ssoManage.rawValue) else {
                throw GatehouseError.forbidden("Managing single sign-on needs the sso.manage permission.")
            }
            return caller
        }

        // Domain claims: proven by a DNS TXT record before they route sign-ins or allow JIT.
        b.get("/api/v1/orgs/:org/sso/domains") { ctx in
            let org = try ctx.parameter("org")
            _ = try await requireManager(ctx, org)
            return try .json(try g.trust.claims(org: org))
        }
        b.post("/api/v1/orgs/:org/sso/domains") { ctx in
            let org = try ctx.parameter("org")
            _ = try await requireManager(ctx, org)
            struct Body: Codable { let domain: String }
            return try .json(try await g.trust.claim(try ctx.decode(Body.self).domain, org: org), status: 201)
        }
        b.post("/api/v1/orgs/:org/sso/domains/:domain/verify") { ctx in
            let org = try ctx.parameter("org")
            let caller = try await requireManager(ctx, org)
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
        b.delete("/api/v1/orgs/:org/sso/domains/:domain") { ctx in
            let org = try ctx.parameter("org")
            _ = try await requireManager(ctx, org)
            try await g.trust.unclaim(try ctx.parameter("domain"), org: org)
            return Response(status: 204)
        }

        b.get("/api/v1/orgs/:org/sso") { ctx in
            let org = try ctx.parameter("org")
            _ = try await requireManager(ctx, org)
            return try .json(
                SSOView(
                    org: org, settings: try g.sso.settings(org: org), sp: g.serviceProvider(org: org),
                    domains: try g.trust.claims(org: org)))
        }

        b.put("/api/v1/orgs/:org/sso") { ctx in
            let org = try ctx.parameter("org")
            let caller = try await g.caller(ctx)
            let settings = try await g.saveSSOSettings(try ctx.decode(SSOSettingsUpdate.self), org: org, caller: caller)
            logger.info(
                "sso settings saved",
                ["org": .string(org), "by": .string(caller.accountID), "idp": .string(settings.idp.entityID)])
            return try .json(
                SSOView(
                    org: org, settings: settings, sp: g.serviceProvider(org: org), domains: try g.trust.claims(org: org)
                ))
        }

        b.delete("/api/v1/orgs/:org/sso") { ctx in
            let org = try ctx.parameter("org")
            _ = try await requireManager(ctx, org)
            try await g.sso.delete(org: org)
            return Response(status: 204)
        }
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
    /// The org's email domain claims, each with the DNS record that proves it.
    let domains: [DomainClaim]

    init(org: String, settings: SSOSettings?, sp: ServiceProvider, domains: [DomainClaim]) {
        configured = settings != nil
        self.settings = settings
        self.domains = domains
        self.sp = SP(entityID: sp.entityID, acsURL: sp.acsURL, metadataURL: sp.metadataURL, loginURL: sp.loginURL)
    }
}
