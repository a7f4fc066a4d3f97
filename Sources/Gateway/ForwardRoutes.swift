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
        b.any("/api/v1/orgs/:org/*") { ctx in
            let tenant = try g.regions.tenant(forOrg: try ctx.parameter("org"))
            let caller = try await g.caller(ctx)
            return try await tenant.forward(ctx.request, caller: caller)
        }
        b.any("/api/v1/regions/:region/*") { ctx in
            let tenant = try g.regions.tenant(forRegion: try ctx.parameter("region"))
            let caller = try await g.caller(ctx)
            return try await tenant.forward(ctx.request, caller: caller)
        }
    }
}
