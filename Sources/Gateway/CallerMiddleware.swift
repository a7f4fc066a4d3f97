import GatehouseCore
import HTTP
import TenantAPI
import TenantDomain
import Web

/// The caller of a gateway API request, established once by `Authenticate` (session cookie with its CSRF header
/// for unsafe methods, or a bearer API key) and read by handlers with `ctx.authenticatedCaller()`.
enum AuthenticatedCallerKey: ContextKey { typealias Value = Caller }

/// Middleware for route groups that need a caller: 401 (or 403 for a missing CSRF token) before any handler runs.
struct Authenticate: Middleware {
    let gateway: GatewayService

    func handle(_ context: RequestContext, next: Handler) async throws -> Response {
        var ctx = context
        ctx[AuthenticatedCallerKey.self] = try await gateway.caller(context)
        return try await next(ctx)
    }
}

/// After `Authenticate`: the caller must hold `sso.manage` in the org of the path (asked of its region).
struct RequireSSOManage: Middleware {
    let gateway: GatewayService

    func handle(_ context: RequestContext, next: Handler) async throws -> Response {
        let org = try context.parameter("org")
        let standing = try await gateway.regions.tenant(forOrg: org).standing(
            orgID: org, caller: try context.authenticatedCaller())
        guard standing.permissions.contains(Permission.ssoManage.rawValue) else {
            throw GatehouseError.forbidden("Managing single sign-on needs the sso.manage permission.")
        }
        return try await next(context)
    }
}

extension RequestContext {
    func authenticatedCaller() throws -> Caller {
        guard let c = self[AuthenticatedCallerKey.self] else {
            throw GatehouseError.internalError(detail: "route outside an authenticated group")
        }
        return c
    }
}
