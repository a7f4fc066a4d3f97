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
public enum ForwardRoutes {

    public static func register(on b: RouterBuilder, gateway g: GatewayService) {
        // The hottest read: with a session cookie and a region that can answer at once (in this process), it is
        // answered on the event loop (session read, region read, bytes) with no task; anything else is forwarded.
        b.sync(
            "GET", "/api/v1/orgs/:org",
            { ctx in
                guard ctx.request.headers["authorization"] == nil, let token = g.sessionToken(ctx),
                    let org = try? ctx.parameter("org"),
                    let tenant = try? g.regions.tenant(forOrg: org),
                    let found = try? g.sessions.validateWithAccount(token)
                else { return nil }
                let (session, account, regionAdmin) = found
                // The region answers at once when it can (`RegionTenant.immediateOrgView`); else the forward below.
                switch tenant.immediateOrgView(
                    Caller(session: session, account: account, regionAdmin: regionAdmin), org: org)
                {
                case .success(let view):
                    return Response(status: 200, headers: ["Content-Type": "application/json"], body: view.jsonBytes)
                case .failure(let e): return Response.error(e)
                case nil: return nil
                }
            },
            else: { ctx in
                let tenant = try g.regions.tenant(forOrg: try ctx.parameter("org"))
                let caller = try await g.caller(ctx)
                return try await g.forward(ctx.request, to: tenant, caller: caller)
            })
        // Every other method on the org itself (PATCH renames it): the same forward.
        for method in ["PATCH", "PUT", "POST", "DELETE"] {
            b.on(method, "/api/v1/orgs/:org") { ctx in
                let tenant = try g.regions.tenant(forOrg: try ctx.parameter("org"))
                let caller = try await g.caller(ctx)
                return try await g.forward(ctx.request, to: tenant, caller: caller)
            }
        }
        b.any("/api/v1/orgs/:org/*") { ctx in
            let tenant = try g.regions.tenant(forOrg: try ctx.parameter("org"))
            let caller = try await g.caller(ctx)
            return try await g.forward(ctx.request, to: tenant, caller: caller)
        }
        b.any("/api/v1/regions/:region/*") { ctx in
            let tenant = try g.regions.tenant(forRegion: try ctx.parameter("region"))
            let caller = try await g.caller(ctx)
            return try await g.forward(ctx.request, to: tenant, caller: caller)
        }
    }
}
