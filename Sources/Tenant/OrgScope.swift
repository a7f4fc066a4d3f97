import GatehouseCore
import HTTP
import TenantAPI
import TenantDomain
import Web

/// What a request under `/api/v1/orgs/:org` addresses and who asks: the region service holding the org, the
/// org id, and the verified caller. Resolved once per request by `OrgScopeMiddleware`.
struct OrgScope: Sendable {
    let service: RegionService
    let org: OrgID
    let caller: Caller
}

enum OrgScopeKey: ContextKey { typealias Value = OrgScope }

/// Resolves the org's region service (an id of another region is the same 404 as an unknown org) and the caller
/// (401 without a verified identity) before any handler of the group runs.
struct OrgScopeMiddleware: Middleware {
    let directory: RegionDirectory
    let callers: CallerProvider

    func handle(_ context: RequestContext, next: Handler) async throws -> Response {
        // Not an org id at all: the same 404 as an unknown org.
        guard let org = OrgID(try context.parameter("org")) else { throw Refusal.notFound.error }
        let service = try directory.service(forOrg: org.raw)
        var ctx = context
        ctx[OrgScopeKey.self] = OrgScope(service: service, org: org, caller: try await callers(context))
        return try await next(ctx)
    }
}

/// Who asks, for routes outside an org (the region admin API): resolved once by middleware.
enum CallerKey: ContextKey { typealias Value = Caller }

struct CallerMiddleware: Middleware {
    let callers: CallerProvider

    func handle(_ context: RequestContext, next: Handler) async throws -> Response {
        var ctx = context
        ctx[CallerKey.self] = try await callers(context)
        return try await next(ctx)
    }
}

extension RequestContext {
    /// The org scope the group's middleware resolved (a route outside the group has none: a programming error
    /// answered as 500, never as another org).
    func orgScope() throws -> (RegionService, OrgID, Caller) {
        guard let s = self[OrgScopeKey.self] else {
            throw GatehouseError.internalError(detail: "route outside the org group")
        }
        return (s.service, s.org, s.caller)
    }

    /// The `:org` of a route outside the org group (the region admin API), as an id: anything else is 404.
    func orgID() throws -> OrgID {
        guard let id = OrgID(try parameter("org")) else { throw Refusal.notFound.error }
        return id
    }

    func caller() throws -> Caller {
        guard let c = self[CallerKey.self] else {
            throw GatehouseError.internalError(detail: "route without caller middleware")
        }
        return c
    }
}
