import Foundation
import GatehouseCore
import HTTP
import Tenant
import TenantDomain
import Web

/// The region API behind the gateway: every `/api/v1/orgs/<org>/…` and `/api/v1/regions/<region>/…` request is
/// authenticated here (session + CSRF, or API key), then forwarded to the region that holds the org — in this
/// process or another. The region decides everything else (permissions, rules, 404 for what the caller
/// may not see).
public enum ForwardRoutes {

    public static func register(on b: RouterBuilder, gateway g: GatewayService) {
        // The hottest read: with a session cookie and the org's region in this process, it is answered on the
        // event loop (session read, region read, bytes) with no task; anything else takes the forward below.
        b.fast(
            "GET", "/api/v1/orgs/:org",
            fast: { ctx in
                guard ctx.request.headers["authorization"] == nil, let token = g.sessionToken(ctx),
                    let org = try? ctx.parameter("org"),
                    let local = try? g.regions.tenant(forOrg: org) as? LocalRegionTenant,
                    let found = try? g.sessions.validateWithAccount(token)
                else { return nil }
                let (session, account, regionAdmin) = found
                let caller = Caller(session: session, account: account, regionAdmin: regionAdmin)
                do {
                    return Response(
                        status: 200, headers: ["Content-Type": "application/json"],
                        body: try local.service.orgNow(caller, org: org).jsonBytes)
                } catch let e as GatehouseError {
                    return Response.error(e)
                } catch {
                    return nil
                }
            }
        ) { ctx in
            let tenant = try g.regions.tenant(forOrg: try ctx.parameter("org"))
            let caller = try await g.caller(ctx)
            return try await g.forward(ctx.request, to: tenant, caller: caller)
        }
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
