import Foundation
import GatehouseCore
import HTTP
import TenantAPI
import TenantDomain
import Web

/// The region API behind the gateway: every `/api/v1/orgs/<org>/…` and `/api/v1/regions/<region>/…` request is
/// authenticated here (session + CSRF, or API key), then forwarded to the region that holds the org — in this
/// process or another. The region decides everything else (permissions, rules, 404 for what the caller
/// may not see).
package enum ForwardRoutes {

    package static func register(on b: RouterBuilder, gateway g: GatewayService) {
        // The hottest read: with a caller known at once (`immediateCaller`) and a region that can answer at once
        // (in this process), it is answered on the event loop (caller, region read, bytes) with no task; anything
        // else is forwarded.
        b.sync(
            "GET", "/api/v1/orgs/:org",
            { ctx in
                guard let caller = g.immediateCaller(ctx), let org = try? ctx.parameter("org"),
                    let tenant = try? g.regions.tenant(forOrg: org)
                else { return nil }
                // The region answers at once when it can (`RegionTenant.immediateOrgView`); else the forward below.
                switch tenant.immediateOrgView(caller, org: org)
                {
                case .success(let view):
                    return try? .json(view)
                case .failure(let e): return Response.error(e)
                case nil: return nil
                }
            },
            else: { ctx in
                let tenant = try g.regions.tenant(forOrg: try ctx.parameter("org"))
                let caller = try await g.caller(ctx)
                return try await g.forward(ctx.request, to: tenant, caller: caller)
            })
        // Everything else under an org or a region: authenticated once by the group, then forwarded.
        let orgs = b.group("/api/v1/orgs/:org", Authenticate(gateway: g))
        @Sendable func toOrg(_ ctx: RequestContext) async throws -> Response {
            let tenant = try g.regions.tenant(forOrg: try ctx.parameter("org"))
            return try await g.forward(ctx.request, to: tenant, caller: try ctx.authenticatedCaller())
        }
        for method in ["PATCH", "DELETE"] { orgs.on(method, "", toOrg) }  // the org itself (rename, delete)
        // Reads are tried at once first: a caller known without waiting and an answer the region remembers
        // (`RegionTenant.immediateForward`, equal to `forward`'s); anything else takes the forward.
        orgs.sync(
            "GET", "/*",
            { ctx in
                guard let caller = g.immediateCaller(ctx), let org = try? ctx.parameter("org"),
                    let tenant = try? g.regions.tenant(forOrg: org)
                else { return nil }
                return tenant.immediateForward(ctx.request, caller: caller)
            }, else: toOrg)
        orgs.any("/*", toOrg)
        b.group("/api/v1/regions/:region", Authenticate(gateway: g)).any("/*") { ctx in
            let tenant = try g.regions.tenant(forRegion: try ctx.parameter("region"))
            return try await g.forward(ctx.request, to: tenant, caller: try ctx.authenticatedCaller())
        }
    }
}
